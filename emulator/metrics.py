"""The local runtime's per-variant counters, in the shape of SageMaker's CloudWatch metrics.

Invocations, Invocation4XXErrors, Invocation5XXErrors (counts) and ModelLatency (microseconds,
as CloudWatch reports it), per variant and per one-minute period: a snapshot is ``core.metrics``'
model, so canary analysis reads the local runtime exactly as it reads CloudWatch. Beside them, what
the gateway answered to the requests it sent each variant (``record_answer``): a hung model's
requests end as the gateway's 504s and never reach the model's own counts.

Memory is constant per variant-minute: latencies go into a fixed histogram of log-scale buckets
(1 µs to ~100 s, 16 per doubling, so a percentile is within ~2.2 % of the true sample's value),
and only the last ``KEEP_PERIODS`` minutes are kept.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.metrics import PERIOD_SECONDS, Answers, Latency, Period, Snapshot

KEEP_PERIODS = 180
BUCKETS_PER_DOUBLING = 16
BUCKETS = 27 * BUCKETS_PER_DOUBLING  # 2**27 µs ≈ 134 s; slower samples share the last bucket
_SCALE = BUCKETS_PER_DOUBLING / math.log(2)


def bucket_of(latency_us: float) -> int:
    if latency_us <= 1:
        return 0
    return min(BUCKETS - 1, int(math.log(latency_us) * _SCALE))


def bucket_edge(index: int) -> float:
    """The lower edge of a bucket, rounded so that the same bucket always has the same key."""
    return 0.0 if index == 0 else round(math.exp(index / _SCALE), 3)


def bucket_value(index: int) -> float:
    """The geometric middle of a bucket: at most half a bucket (~2.2 %) from any sample in it."""
    return math.exp((index + 0.5) / _SCALE)


# every bucket's edge and middle, computed once: the dashboard reads each minute's histogram every second
_EDGES = [bucket_edge(index) for index in range(BUCKETS)]
_VALUES = [bucket_value(index) for index in range(BUCKETS)]


@dataclass
class LatencyHistogram:
    counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    count: int = 0
    total: float = 0.0
    maximum: float = 0.0

    def add(self, latency_us: float) -> None:
        self.counts[bucket_of(latency_us)] += 1
        self.count += 1
        self.total += latency_us
        self.maximum = max(self.maximum, latency_us)

    def sparse(self) -> dict[float, int]:
        """The non-empty buckets by their lower edge (µs): what the judge compares versions with."""
        edges = _EDGES
        return {edges[index]: count for index, count in enumerate(self.counts) if count}

    def percentile(self, percent: float) -> float:
        """Like numpy's default (linear between the two nearest ranks), each rank read as its
        bucket's middle, capped by the largest sample."""
        position = percent / 100 * (self.count - 1)
        lower = int(position)
        cumulative = list(itertools.accumulate(self.counts))
        low, high = self._ranked(cumulative, lower), self._ranked(cumulative, min(lower + 1, self.count - 1))
        return min(low + (high - low) * (position - lower), self.maximum)

    def _ranked(self, cumulative: list[int], rank: int) -> float:
        """The value of the sample at 0-based ``rank`` in sorted order, to within its bucket."""
        index = bisect.bisect_right(cumulative, rank)
        return _VALUES[index] if index < BUCKETS else self.maximum


@dataclass
class _Period:
    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    # the gateway's answers to requests sent to the variant: count, 4xx, 5xx, timeouts, cached (kept
    # as plain counters: one is added per request)
    answered: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])

    def summary(self, start: int) -> Period:
        latency = self.latency
        timings = None if latency.count == 0 else Latency(
            latency.count, latency.total / latency.count, latency.percentile(50), latency.percentile(99),
            latency.maximum, latency.sparse())
        answers = Answers(*self.answered) if self.answered[0] else None  # None: the gateway sent it nothing
        return Period(start, self.invocations, self.errors_4xx, self.errors_5xx, timings, answers)


class VariantMetrics:
    """Thread-safe counters; ``snapshot`` is what ``GET /metrics`` returns."""

    def __init__(self, endpoint_name: str, clock: Callable[[], float] = time.time):
        self.endpoint_name = endpoint_name
        self._clock = clock
        self._lock = threading.Lock()
        self._periods: dict[str, dict[int, _Period]] = {}
        self._log_failures = 0

    def count_log_failure(self) -> None:
        with self._lock:
            self._log_failures += 1

    def record(self, variant: str, status: int, latency_us: float) -> None:
        """One invocation the model answered (or failed, or timed out on) for ``variant``."""
        with self._lock:
            period = self._period(variant)
            period.invocations += 1
            period.errors_4xx += 400 <= status < 500
            period.errors_5xx += status >= 500
            period.latency.add(latency_us)

    def record_answer(self, variant: str, status: int, timed_out: bool = False, cached: bool = False) -> None:
        """One answer of the gateway to a request it sent to ``variant``; ``timed_out``: its own
        integration timeout answered it; ``cached``: the stage cache did, without asking the model."""
        with self._lock:
            counts = self._period(variant).answered
            counts[0] += 1
            counts[1] += 400 <= status < 500
            counts[2] += status >= 500
            counts[3] += timed_out
            counts[4] += cached

    def _period(self, variant: str) -> _Period:
        """This minute's counters of ``variant``, made on first use; call with the lock held."""
        start = int(self._clock() // PERIOD_SECONDS * PERIOD_SECONDS)
        periods = self._periods.setdefault(variant, {})
        period = periods.get(start)
        if period is None:
            period = periods[start] = _Period()
            self._forget_before(start - KEEP_PERIODS * PERIOD_SECONDS)
        return period

    def _forget_before(self, oldest: int) -> None:
        for periods in self._periods.values():
            for start in [start for start in periods if start < oldest]:
                del periods[start]

    def snapshot(self, since: float = 0.0) -> Snapshot:
        """Every variant's periods that end after ``since``."""
        with self._lock:
            variants = {
                variant: tuple(period.summary(start) for start, period in sorted(periods.items())
                               if start + PERIOD_SECONDS > since)
                for variant, periods in self._periods.items()
            }
        return Snapshot(self.endpoint_name, variants, log_failures=self._log_failures)
