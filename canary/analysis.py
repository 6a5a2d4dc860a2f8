"""Candidate vs live over a window: requests, 4xx and 5xx rates, model latency p99 -> verdict."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class Verdict(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class VariantStats:
    requests: int
    errors_4xx: int
    errors_5xx: int
    latency_p99_ms: float | None

    @property
    def rate_4xx(self) -> float:
        return self.errors_4xx / self.requests if self.requests else 0.0

    @property
    def rate_5xx(self) -> float:
        return self.errors_5xx / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Thresholds:
    min_requests: int = 100  # fewer candidate requests than this: inconclusive
    max_5xx_rate: float = 0.01
    max_4xx_increase: float = 0.05  # candidate 4xx rate may exceed live's by this much
    max_latency_ratio: float = 1.5  # candidate p99 may be this many times live's ...
    # ... unless it stays under this: below ~20 ms, p99 differences between two model servers on
    # one host are scheduling noise (measured 5 vs 8 ms for identical models under load)
    latency_floor_ms: float = 20.0


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    reasons: list[str]
    live: VariantStats
    candidate: VariantStats


class MetricsSource(Protocol):
    def variant_stats(self, endpoint: str, variant: str, window_seconds: float) -> VariantStats: ...


def judge(live: VariantStats, candidate: VariantStats, thresholds: Thresholds) -> Analysis:
    reasons = []
    if candidate.rate_5xx > thresholds.max_5xx_rate:
        reasons.append(f"candidate 5xx rate {candidate.rate_5xx:.2%} exceeds {thresholds.max_5xx_rate:.2%}")
    if candidate.rate_4xx > live.rate_4xx + thresholds.max_4xx_increase:
        reasons.append(f"candidate 4xx rate {candidate.rate_4xx:.2%} exceeds live's {live.rate_4xx:.2%} "
                       f"by more than {thresholds.max_4xx_increase:.2%}")
    if (candidate.latency_p99_ms is not None and live.latency_p99_ms is not None
            and candidate.latency_p99_ms > thresholds.latency_floor_ms
            and candidate.latency_p99_ms > live.latency_p99_ms * thresholds.max_latency_ratio):
        reasons.append(f"candidate p99 {candidate.latency_p99_ms:.1f} ms is over "
                       f"{thresholds.max_latency_ratio:g}x live's {live.latency_p99_ms:.1f} ms")
    if reasons:
        return Analysis(Verdict.FAIL, reasons, live, candidate)
    if candidate.requests < thresholds.min_requests:
        return Analysis(Verdict.INCONCLUSIVE, [f"only {candidate.requests} candidate requests, "
                                               f"{thresholds.min_requests} needed"], live, candidate)
    return Analysis(Verdict.PASS, ["candidate within every threshold"], live, candidate)


def analyse(source: MetricsSource, endpoint: str, live: str, candidate: str, window_seconds: float,
            thresholds: Thresholds) -> Analysis:
    return judge(source.variant_stats(endpoint, live, window_seconds),
                 source.variant_stats(endpoint, candidate, window_seconds), thresholds)
