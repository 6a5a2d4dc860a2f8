"""One metrics model for every reader: SageMaker's per-variant metrics, per one-minute period.

The local runtime counts in this shape (``Invocations``, ``Invocation4XXErrors``,
``Invocation5XXErrors`` and ``ModelLatency`` in microseconds, as CloudWatch reports them) and
serves it as ``GET /metrics``, with what the gateway answered for requests sent to each version
beside it (``Gateway``: API Gateway's ``Count``, ``4XXError`` and ``5XXError``, and the 504s of
its integration timeout), because a model that hangs or crashes is absent from its own counts;
``Snapshot.from_json`` is the one parser of that document, used by
``canary`` and the local dashboard alike. CloudWatch readers produce the same ``VariantStats``
and ``Point`` values, so the analysis never knows where its numbers came from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

PERIOD_SECONDS = 60
# How long after a minute ends its SageMaker datapoint may still be missing from CloudWatch. AWS
# documents the 1-minute frequency ("Amazon SageMaker AI metrics in Amazon CloudWatch") but no
# publication delay: one whole minute is an assumption, to be measured on a live endpoint.
PUBLISH_DELAY_SECONDS = 60


class MetricsError(RuntimeError):
    """Metrics could not be read; the message says from where."""


@dataclass(frozen=True)
class Answers:
    """What the API answered to requests sent to one version, counted at the gateway: every
    request, including the gateway's timeouts, the errors that never reached the model and the
    answers the stage cache gave without asking it."""

    requests: int
    errors_4xx: int
    errors_5xx: int
    timeouts: int = 0  # 504s of the gateway's own integration timeout, part of errors_5xx
    cached: int = 0  # 200s from the stage cache (api.cache): the model was not asked

    @property
    def judged(self) -> int:
        return max(self.requests - self.errors_4xx, 0)

    @property
    def rate_5xx(self) -> float:
        return self.errors_5xx / self.judged if self.judged else 0.0

    def asked(self) -> Answers:
        """The answers for which the version itself was asked (or timed out): the stage cache's
        are left out, so a cached live version's error rate is not diluted by answers its model
        never gave, and compares with a canary's, which never uses the cache."""
        return Answers(max(self.requests - self.cached, 0), self.errors_4xx, self.errors_5xx, self.timeouts)

    def __add__(self, other: Answers) -> Answers:
        return Answers(self.requests + other.requests, self.errors_4xx + other.errors_4xx,
                       self.errors_5xx + other.errors_5xx, self.timeouts + other.timeouts, self.cached + other.cached)

    def __sub__(self, other: Answers) -> Answers:
        """What was counted after ``other`` was read (never below zero)."""
        return Answers(max(self.requests - other.requests, 0), max(self.errors_4xx - other.errors_4xx, 0),
                       max(self.errors_5xx - other.errors_5xx, 0), max(self.timeouts - other.timeouts, 0),
                       max(self.cached - other.cached, 0))

    def to_json(self) -> dict[str, int]:
        return {"Count": self.requests, "4XXError": self.errors_4xx, "5XXError": self.errors_5xx,
                "IntegrationTimeouts": self.timeouts, "CacheHitCount": self.cached}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Answers:
        return cls(int(data["Count"]), int(data["4XXError"]), int(data["5XXError"]),
                   int(data.get("IntegrationTimeouts", 0)), int(data.get("CacheHitCount", 0)))


NO_ANSWERS = Answers(0, 0, 0)


@dataclass(frozen=True)
class VariantStats:
    """One version over a window. ``requests`` and the errors are the model's own invocations
    (SageMaker's metrics); ``answers``, where the source counts them, what the API answered."""

    requests: int
    errors_4xx: int
    errors_5xx: int
    latency_p99_ms: float | None
    latency_histogram: Mapping[float, int] | None = None  # µs bucket lower edge -> samples, where kept
    answers: Answers | None = None

    @property
    def judged(self) -> int:
        """Requests that were not refused as client mistakes."""
        return max(self.requests - self.errors_4xx, 0)

    @property
    def rate_4xx(self) -> float:
        return self.errors_4xx / self.requests if self.requests else 0.0

    @property
    def rate_5xx(self) -> float:
        return self.errors_5xx / self.judged if self.judged else 0.0


@dataclass(frozen=True)
class Point:
    """One period of one variant: what the chart and the live view draw."""

    time: float  # start of the period, epoch seconds
    requests: int
    errors_4xx: int
    errors_5xx: int
    latency_p99_ms: float | None

    @property
    def rate_5xx(self) -> float:
        judged = self.requests - self.errors_4xx
        return self.errors_5xx / judged if judged > 0 else 0.0


class MetricsSource(Protocol):
    """Where a stack's per-variant metrics come from (the local runtime, CloudWatch)."""

    def variant_stats(self, endpoint: str, variant: str, window_seconds: float) -> VariantStats: ...

    def series(self, endpoint: str, variant: str, window_seconds: float) -> list[Point]: ...


@dataclass(frozen=True)
class Latency:
    """ModelLatency of one period, in microseconds. ``histogram``: sample counts by the lower edge
    of their bucket (µs), where the source keeps them (the local runtime; CloudWatch does not)."""

    sample_count: int
    average: float
    p50: float
    p99: float
    maximum: float
    histogram: Mapping[float, int] | None = None


@dataclass(frozen=True)
class Period:
    start: int  # epoch seconds, a multiple of the period length
    invocations: int
    errors_4xx: int
    errors_5xx: int
    latency: Latency | None
    answers: Answers | None = None  # the gateway's, where it counts them

    def to_json(self) -> dict[str, Any]:
        latency = self.latency
        gateway = {} if self.answers is None else {"Gateway": self.answers.to_json()}
        return {**gateway, "Timestamp": self.start, "Invocations": self.invocations,
                "Invocation4XXErrors": self.errors_4xx, "Invocation5XXErrors": self.errors_5xx,
                "ModelLatency": None if latency is None else {
                    "SampleCount": latency.sample_count, "Average": latency.average, "p50": latency.p50,
                    "p99": latency.p99, "Maximum": latency.maximum,
                    **({"Histogram": [[edge, count] for edge, count in sorted(latency.histogram.items())]}
                       if latency.histogram is not None else {})}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Period:
        latency, gateway = data.get("ModelLatency"), data.get("Gateway")
        return cls(int(data["Timestamp"]), int(data["Invocations"]), int(data["Invocation4XXErrors"]),
                   int(data["Invocation5XXErrors"]), None if not latency else Latency(
                       int(latency["SampleCount"]), float(latency["Average"]), float(latency["p50"]),
                       float(latency["p99"]), float(latency["Maximum"]), _histogram(latency.get("Histogram"))),
                   None if gateway is None else Answers.from_json(gateway))


@dataclass(frozen=True)
class Snapshot:
    """Every variant's periods that overlap a window, as ``GET /metrics`` serves them."""

    endpoint: str
    variants: Mapping[str, tuple[Period, ...]]
    period_seconds: int = PERIOD_SECONDS
    log_failures: int = 0  # access-log lines the local gateway could not write (a full disk), since start

    def periods(self, variant: str) -> tuple[Period, ...]:
        return self.variants.get(variant, ())

    def stats(self, variant: str) -> VariantStats:
        periods = self.periods(variant)
        timed = [p.latency for p in periods if p.latency]
        histograms = [latency.histogram for latency in timed]
        merged = None if not timed or any(h is None for h in histograms) else merge_histograms(histograms)
        counted = [p.answers for p in periods if p.answers is not None]
        return VariantStats(
            requests=sum(p.invocations for p in periods), errors_4xx=sum(p.errors_4xx for p in periods),
            errors_5xx=sum(p.errors_5xx for p in periods),
            latency_p99_ms=window_p99([(latency.p99, latency.sample_count) for latency in timed]),
            latency_histogram=merged, answers=sum(counted, NO_ANSWERS) if counted else None)

    def series(self, variant: str) -> list[Point]:
        return [Point(p.start, p.invocations, p.errors_4xx, p.errors_5xx,
                      p.latency.p99 / 1000 if p.latency else None) for p in self.periods(variant)]

    def to_json(self) -> dict[str, Any]:
        return {"EndpointName": self.endpoint, "PeriodSeconds": self.period_seconds,
                "AccessLogWriteFailures": self.log_failures,
                "Variants": {name: [p.to_json() for p in periods] for name, periods in self.variants.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Snapshot:
        """The one parser of a metrics document; MetricsError names what is wrong with it."""
        try:
            return cls(str(data["EndpointName"]),
                       {str(name): tuple(Period.from_json(p) for p in periods)
                        for name, periods in data["Variants"].items()}, int(data.get("PeriodSeconds", PERIOD_SECONDS)),
                       int(data.get("AccessLogWriteFailures", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MetricsError(f"not a metrics document ({type(error).__name__}: {error})") from None


def _histogram(raw: Any) -> dict[float, int] | None:
    if raw is None:
        return None
    return {float(edge): int(count) for edge, count in raw}


def merge_histograms(histograms: Iterable[Mapping[float, int] | None]) -> dict[float, int]:
    merged: dict[float, int] = {}
    for histogram in histograms:
        for edge, count in (histogram or {}).items():
            merged[edge] = merged.get(edge, 0) + count
    return merged


def published_minutes(now: float, window_seconds: float,
                      delay_seconds: float = PUBLISH_DELAY_SECONDS) -> tuple[float, float] | None:
    """The whole minutes of the last ``window_seconds`` whose datapoints are complete and published:
    [start, end) in epoch seconds, or None when there is none yet.

    A minute counts only when it begins inside the window, so a window that starts when a step set
    its weight holds no traffic from before it (CloudWatch would round a StartTime down to the
    minute, GetMetricStatistics API reference), and only when it ended ``delay_seconds`` ago."""
    start = math.ceil((now - window_seconds) / PERIOD_SECONDS) * PERIOD_SECONDS
    end = math.floor((now - delay_seconds) / PERIOD_SECONDS) * PERIOD_SECONDS
    return (start, end) if end > start else None


def window_p99(minutes: list[tuple[float, int]]) -> float | None:
    """The window's p99 (ms) from per-minute p99s (us) and their sample counts, weighted by samples.

    The worst minute would stand for the window only if every minute had enough samples: a minute
    with 5 requests has its slowest one as "p99", so one slow request on a loaded host would decide
    the verdict. Weighting gives each minute the share of the window's requests it served."""
    total = sum(count for _, count in minutes)
    if not total:
        return None
    return sum(p99 * count for p99, count in minutes) / total / 1000
