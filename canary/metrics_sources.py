"""Where per-variant metrics come from: CloudWatch on AWS, the local runtime's /metrics."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from canary.analysis import VariantStats

NAMESPACE = "AWS/SageMaker"


class MetricsError(RuntimeError):
    """Metrics could not be read; the message says from where."""


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


def window_p99(minutes: list[tuple[float, int]]) -> float | None:
    """The window's p99 (ms) from per-minute p99s (us) and their sample counts, weighted by samples.

    The worst minute would stand for the window only if every minute had enough samples: a minute
    with 5 requests has its slowest one as "p99", so one slow request on a loaded host would decide
    the verdict. Weighting gives each minute the share of the window's requests it served."""
    total = sum(count for _, count in minutes)
    if not total:
        return None
    return sum(p99 * count for p99, count in minutes) / total / 1000


class LocalRuntimeMetrics:
    """The local SageMaker runtime's ``GET /metrics`` (per-minute periods, like CloudWatch)."""

    def __init__(self, runtime_url: str):
        self.url = runtime_url.rstrip("/")

    def periods(self, window_seconds: float) -> dict:
        since = time.time() - window_seconds
        try:
            with urllib.request.urlopen(f"{self.url}/metrics?since={since}", timeout=10) as answer:
                return json.loads(answer.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise MetricsError(f"cannot read {self.url}/metrics ({error}); is the local API running (make local)?") \
                from None

    def served_routing(self) -> dict:
        """Live version, candidate and its share as the running gateway applies them (the local
        dashboard's state): a stack-file edit the gateway refused is not there."""
        try:
            with urllib.request.urlopen(f"{self.url}/dashboard/state.json", timeout=10) as answer:
                routing = json.loads(answer.read())["routing"]
            return {key: routing[key] for key in ("live", "candidate", "share")}
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as error:
            raise MetricsError(f"cannot read {self.url}/dashboard/state.json ({error})") from None

    def variant_stats(self, endpoint: str, variant: str, window_seconds: float) -> VariantStats:
        periods = self.periods(window_seconds).get("Variants", {}).get(variant, [])
        latency = [(p["ModelLatency"]["p99"], p["ModelLatency"]["SampleCount"]) for p in periods
                   if p.get("ModelLatency")]
        return VariantStats(
            requests=sum(p["Invocations"] for p in periods),
            errors_4xx=sum(p["Invocation4XXErrors"] for p in periods),
            errors_5xx=sum(p["Invocation5XXErrors"] for p in periods),
            latency_p99_ms=window_p99(latency))

    def series(self, endpoint: str, variant: str, window_seconds: float) -> list[Point]:
        periods = self.periods(window_seconds).get("Variants", {}).get(variant, [])
        return [Point(p["Timestamp"], p["Invocations"], p["Invocation4XXErrors"], p["Invocation5XXErrors"],
                      p["ModelLatency"]["p99"] / 1000 if p.get("ModelLatency") else None) for p in periods]


class CloudWatchMetrics:
    """SageMaker's per-variant metrics (Invocations, Invocation4XX/5XXErrors, ModelLatency)."""

    def __init__(self, cloudwatch_client, now=None):
        self.client = cloudwatch_client
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))

    def _statistic(self, endpoint: str, variant: str, metric: str, window_seconds: float, period: int = 60,
                   **kind) -> list[dict]:
        from botocore.exceptions import BotoCoreError, ClientError

        end = self._now()
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
        try:
            answer = self.client.get_metric_statistics(
                Namespace=NAMESPACE, MetricName=metric, StartTime=end - dt.timedelta(seconds=window_seconds),
                EndTime=end, Period=period, Dimensions=dimensions, **kind)
        except (BotoCoreError, ClientError) as error:
            raise MetricsError(f"cannot read CloudWatch metric {metric} of {endpoint}/{variant}: {error}") from None
        return answer["Datapoints"]

    def variant_stats(self, endpoint: str, variant: str, window_seconds: float) -> VariantStats:
        def total(metric: str) -> int:
            return int(sum(p["Sum"] for p in self._statistic(endpoint, variant, metric, window_seconds,
                                                              Statistics=["Sum"])))

        requests, errors_4xx, errors_5xx = (total(m) for m in ("Invocations", "Invocation4XXErrors",
                                                                 "Invocation5XXErrors"))
        # one period as long as the window: CloudWatch computes the p99 of all its samples (a
        # per-minute p99 of a quiet minute is just its slowest request); ModelLatency is in microseconds
        whole = max(60, math.ceil(window_seconds / 60) * 60)
        latency = self._statistic(endpoint, variant, "ModelLatency", window_seconds, period=whole,
                                  ExtendedStatistics=["p99"])
        p99 = [p["ExtendedStatistics"]["p99"] for p in latency if "p99" in p.get("ExtendedStatistics", {})]
        return VariantStats(requests, errors_4xx, errors_5xx, max(p99) / 1000 if p99 else None)

    def series(self, endpoint: str, variant: str, window_seconds: float) -> list[Point]:
        by_time: dict[float, dict] = {}
        for metric in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors"):
            for point in self._statistic(endpoint, variant, metric, window_seconds, Statistics=["Sum"]):
                by_time.setdefault(point["Timestamp"].timestamp(), {})[metric] = int(point["Sum"])
        for point in self._statistic(endpoint, variant, "ModelLatency", window_seconds, ExtendedStatistics=["p99"]):
            p99 = point.get("ExtendedStatistics", {}).get("p99")
            by_time.setdefault(point["Timestamp"].timestamp(), {})["p99"] = p99 / 1000 if p99 is not None else None
        return [Point(time, v.get("Invocations", 0), v.get("Invocation4XXErrors", 0),
                      v.get("Invocation5XXErrors", 0), v.get("p99")) for time, v in sorted(by_time.items())]
