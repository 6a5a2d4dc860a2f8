"""Per-variant invocation metrics in the shape of SageMaker's CloudWatch metrics.

Invocations, Invocation4XXErrors, Invocation5XXErrors (counts) and ModelLatency (microseconds,
as CloudWatch reports it), per variant and per one-minute period, so canary analysis reads the
local runtime exactly as it reads CloudWatch.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

PERIOD_SECONDS = 60
KEEP_PERIODS = 180


@dataclass
class _Period:
    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latencies_us: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        latency = np.array(self.latencies_us) if self.latencies_us else None
        return {
            "Invocations": self.invocations,
            "Invocation4XXErrors": self.errors_4xx,
            "Invocation5XXErrors": self.errors_5xx,
            "ModelLatency": None if latency is None else {
                "SampleCount": int(latency.size), "Average": float(latency.mean()),
                "p50": float(np.percentile(latency, 50)), "p99": float(np.percentile(latency, 99)),
                "Maximum": float(latency.max())},
        }


class VariantMetrics:
    """Thread-safe counters; ``snapshot`` is what ``GET /metrics`` returns."""

    def __init__(self, endpoint_name: str, clock=time.time):
        self.endpoint_name = endpoint_name
        self._clock = clock
        self._lock = threading.Lock()
        self._periods: dict[str, dict[int, _Period]] = defaultdict(dict)

    def record(self, variant: str, status: int, latency_us: float) -> None:
        start = int(self._clock() // PERIOD_SECONDS * PERIOD_SECONDS)
        with self._lock:
            periods = self._periods[variant]
            period = periods.setdefault(start, _Period())
            period.invocations += 1
            period.errors_4xx += 400 <= status < 500
            period.errors_5xx += status >= 500
            period.latencies_us.append(latency_us)
            for old in [p for p in periods if p < start - KEEP_PERIODS * PERIOD_SECONDS]:
                del periods[old]

    def snapshot(self, since: float = 0.0) -> dict:
        with self._lock:
            variants = {
                variant: [{"Timestamp": start, **period.summary()}
                          for start, period in sorted(periods.items()) if start + PERIOD_SECONDS > since]
                for variant, periods in self._periods.items()
            }
        return {"EndpointName": self.endpoint_name, "PeriodSeconds": PERIOD_SECONDS, "Variants": variants}
