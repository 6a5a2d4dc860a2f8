"""Candidate vs live over a window: requests, 5xx rate, model latency p99 -> verdict.

4xx answers are the client's mistakes (the request template turns a malformed request into a
body the model refuses with 400), so they count against no version: rates and the sample size
are taken over the requests that were not refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.metrics import MetricsSource, VariantStats
from core.thresholds import AnalysisThresholds

# A p99 needs about 100 samples to be more than the largest one: below that, one slow request
# on a loaded host decides it, so the latency rule waits for enough candidate requests.
P99_MIN_SAMPLES = 100


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    reasons: list[str]
    live: VariantStats
    candidate: VariantStats


def since(now: VariantStats, baseline: VariantStats | None) -> VariantStats:
    """The requests counted after ``baseline`` was read.

    Metrics come in whole minutes, so a window starting when a step set its weight still holds
    what that minute counted before (another version's run, a previous step); the counts read at
    the step's start are taken off. A p99 cannot be taken apart: it stays the window's."""
    if baseline is None:
        return now
    return VariantStats(max(now.requests - baseline.requests, 0), max(now.errors_4xx - baseline.errors_4xx, 0),
                        max(now.errors_5xx - baseline.errors_5xx, 0), now.latency_p99_ms)


def judge(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> Analysis:
    reasons = []
    if candidate.rate_5xx > thresholds.max_5xx_rate:
        reasons.append(f"candidate 5xx rate {candidate.rate_5xx:.2%} exceeds {thresholds.max_5xx_rate:.2%}")
    if (candidate.judged >= P99_MIN_SAMPLES and candidate.latency_p99_ms is not None
            and live.latency_p99_ms is not None and candidate.latency_p99_ms > thresholds.latency_floor_ms
            and candidate.latency_p99_ms > live.latency_p99_ms * thresholds.max_latency_ratio):
        reasons.append(f"candidate p99 {candidate.latency_p99_ms:.1f} ms is over "
                       f"{thresholds.max_latency_ratio:g}x live's {live.latency_p99_ms:.1f} ms")
    if reasons:
        return Analysis(Verdict.FAIL, reasons, live, candidate)
    if candidate.judged < thresholds.min_requests:
        return Analysis(Verdict.INCONCLUSIVE, [f"only {candidate.judged} candidate requests, "
                                               f"{thresholds.min_requests} needed"], live, candidate)
    return Analysis(Verdict.PASS, ["candidate within every threshold"], live, candidate)


def analyse(source: MetricsSource, endpoint: str, live: str, candidate: str, window_seconds: float,
            thresholds: AnalysisThresholds) -> Analysis:
    return judge(source.variant_stats(endpoint, live, window_seconds),
                 source.variant_stats(endpoint, candidate, window_seconds), thresholds)
