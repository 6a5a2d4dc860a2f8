"""Where a stack's metrics and served routing come from: the local runtime over HTTP, or
CloudWatch on AWS. Both answer in ``core.metrics``' model, so the analysis never knows which."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import access_log, routing
from core.metrics import Answers, MetricsError, Point, Snapshot, VariantStats, published_minutes
from core.routing import Routing

NAMESPACE = "AWS/SageMaker"
# The ModelLatency edges (µs) CloudWatch is asked the percentile rank of, so the judge compares
# versions by their share of slow requests on AWS as it does on the local runtime's histograms:
# 1 ms to about 65 s, a factor of √2 apart. PR(:T), "the percentage of data points that have a
# value of T or less", is an extended statistic of GetMetricData only (CloudWatch User Guide,
# "CloudWatch statistics definitions"; GetMetricStatistics takes percentiles alone).
LATENCY_EDGES_US = tuple(float(round(1000 * 2 ** (i / 2))) for i in range(33))
MSG_RUNTIME_DOWN = "cannot read {url} ({error}); is the local API running (make local)?"


class LocalRuntime:
    """The local runtime's ``GET /metrics`` (per-minute periods, like CloudWatch) and its GetStage
    answer (what the running gateway serves)."""

    def __init__(self, runtime_url: str, clock: Callable[[], float] = time.time):
        self.url = runtime_url.rstrip("/")
        self._clock = clock

    def _get(self, path: str, query: str = "") -> Any:
        url = f"{self.url}{path}"
        try:
            with urllib.request.urlopen(f"{url}?{query}" if query else url, timeout=10) as answer:
                return json.loads(answer.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise MetricsError(MSG_RUNTIME_DOWN.format(url=url, error=error)) from None

    def snapshot(self, window_seconds: float) -> Snapshot:
        return Snapshot.from_json(self._get("/metrics", f"since={self._clock() - window_seconds}"))

    def variant_stats(self, endpoint: str, variant: str, window_seconds: float) -> VariantStats:
        return self.snapshot(window_seconds).stats(variant)

    def series(self, endpoint: str, variant: str, window_seconds: float) -> list[Point]:
        return self.snapshot(window_seconds).series(variant)

    def served(self, stage: str) -> Routing:
        """Live version, candidate and its share as the running gateway applies them: a stack-file
        edit the gateway refused is not there."""
        path = f"/restapis/{routing.LOCAL_REST_API_ID}/stages/{urllib.parse.quote(stage, safe='')}"
        document = self._get(path)
        try:
            return routing.served_by_get_stage(document)
        except (AttributeError, TypeError, ValueError) as error:
            raise MetricsError(f"{self.url}{path} is not a GetStage answer ({error})") from None


class ApiGatewayStages:
    """API Gateway's GetStage, read as the traffic the stage serves: the same reading as the local
    runtime's answer (``routing.served_by_get_stage``), so drift is told the same way on both."""

    def __init__(self, apigateway_client: Any):
        self.client = apigateway_client

    def served(self, rest_api_id: str, stage: str) -> Routing:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            document = self.client.get_stage(restApiId=rest_api_id, stageName=stage)
        except (BotoCoreError, ClientError) as error:
            raise MetricsError(f"cannot read stage {stage} of REST API {rest_api_id} (GetStage): {error}") from None
        return routing.served_by_get_stage(document)


@dataclass(frozen=True)
class AnswerCounts:
    """Where the stack's access-log metric filters count the API's answers (``core.access_log``)."""

    namespace: str
    stage: str


class CloudWatchMetrics:
    """SageMaker's per-variant metrics (Invocations, Invocation4XX/5XXErrors, ModelLatency) and,
    where the stack counts them, the API's answers per version from its access-log metric filters.

    The analysis reads only whole minutes that are over and published (``published_minutes``): a
    minute still counting, or not yet sent to CloudWatch, would read as a quiet one."""

    def __init__(self, cloudwatch_client: Any, now: Callable[[], dt.datetime] | None = None,
                 answers: AnswerCounts | None = None):
        self.client = cloudwatch_client
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.answers = answers

    def _statistic(self, endpoint: str, variant: str, metric: str, start: dt.datetime, end: dt.datetime,
                   period: int = 60, **kind: Any) -> list[dict[str, Any]]:
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
        return self._read(NAMESPACE, metric, dimensions, start, end, period, f"{endpoint}/{variant}", **kind)

    def _read(self, namespace: str, metric: str, dimensions: list[dict[str, str]], start: dt.datetime,
              end: dt.datetime, period: int, whose: str, **kind: Any) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_metric_statistics(
                Namespace=namespace, MetricName=metric, StartTime=start, EndTime=end, Period=period,
                Dimensions=dimensions, **kind)
        except (BotoCoreError, ClientError) as error:
            raise MetricsError(f"cannot read CloudWatch metric {metric} of {whose}: {error}") from None
        datapoints: list[dict[str, Any]] = answer["Datapoints"]
        return datapoints

    def _latency_histogram(self, endpoint: str, variant: str, start: dt.datetime,
                           end: dt.datetime) -> dict[float, int] | None:
        """The window's ModelLatency samples counted between ``LATENCY_EDGES_US``, by the lower
        edge of their bucket, as the local runtime keeps them; None without samples."""
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
        metric = {"Namespace": NAMESPACE, "MetricName": "ModelLatency", "Dimensions": dimensions}
        period = int((end - start).total_seconds())
        stats = {"n": "SampleCount", **{f"r{i}": f"PR(:{edge:g})" for i, edge in enumerate(LATENCY_EDGES_US)}}
        values = self._metric_data([{"Id": key, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}
                                    for key, stat in stats.items()], start, end, f"{endpoint}/{variant}")
        samples = int(sum(values.get("n", [])))
        if not samples:
            return None
        at_or_below, histogram, previous = 0, {}, 0.0
        for i, edge in enumerate(LATENCY_EDGES_US):
            ranks = values.get(f"r{i}") or [100.0]
            counted = max(at_or_below, round(samples * min(ranks[0], 100.0) / 100))
            histogram[previous] = counted - at_or_below
            at_or_below, previous = counted, edge
        histogram[previous] = samples - at_or_below
        return {edge: count for edge, count in histogram.items() if count}

    def _metric_data(self, queries: list[dict[str, Any]], start: dt.datetime, end: dt.datetime,
                     whose: str) -> dict[str, list[float]]:
        """GetMetricData's values by query id, every page read."""
        from botocore.exceptions import BotoCoreError, ClientError

        values: dict[str, list[float]] = {}
        request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        try:
            while True:
                answer = self.client.get_metric_data(**request)
                for result in answer["MetricDataResults"]:
                    values.setdefault(result["Id"], []).extend(result.get("Values", []))
                if not answer.get("NextToken"):
                    return values
                request["NextToken"] = answer["NextToken"]
        except (BotoCoreError, ClientError) as error:
            raise MetricsError(f"cannot read CloudWatch metric ModelLatency of {whose}: {error}") from None

    def _answers(self, variant: str, start: dt.datetime, end: dt.datetime) -> Answers | None:
        """The API's answers to requests sent to ``variant``; None where no filter counted any (a
        stack deployed before it counted them, a sticky canary)."""
        if self.answers is None:
            return None
        where = self.answers
        dimensions = [{"Name": access_log.STAGE_DIMENSION, "Value": where.stage},
                      {"Name": access_log.VERSION_DIMENSION, "Value": variant}]

        def total(metric: str) -> tuple[int, bool]:
            points = self._read(where.namespace, metric, dimensions, start, end, 60, f"stage {where.stage}/{variant}",
                                Statistics=["Sum"])
            return int(sum(p["Sum"] for p in points)), bool(points)

        requests, counted = total(access_log.ANSWERS)
        if not counted:
            return None
        return Answers(requests, total(access_log.CLIENT_ERRORS)[0], total(access_log.SERVER_ERRORS)[0],
                       total(access_log.TIMEOUTS)[0], total(access_log.CACHED)[0])

    def variant_stats(self, endpoint: str, variant: str, window_seconds: float) -> VariantStats:
        bounds = published_minutes(self._now().timestamp(), window_seconds)
        if bounds is None:
            return VariantStats(0, 0, 0, None)
        start, end = (dt.datetime.fromtimestamp(edge, dt.UTC) for edge in bounds)

        def total(metric: str) -> int:
            return int(sum(p["Sum"] for p in self._statistic(endpoint, variant, metric, start, end,
                                                              Statistics=["Sum"])))

        requests, errors_4xx, errors_5xx = (total(m) for m in ("Invocations", "Invocation4XXErrors",
                                                                 "Invocation5XXErrors"))
        # one period as long as the window: CloudWatch computes the p99 of all its samples (a
        # per-minute p99 of a quiet minute is just its slowest request); ModelLatency is in microseconds
        latency = self._statistic(endpoint, variant, "ModelLatency", start, end, period=int(bounds[1] - bounds[0]),
                                  ExtendedStatistics=["p99"])
        p99 = [p["ExtendedStatistics"]["p99"] for p in latency if "p99" in p.get("ExtendedStatistics", {})]
        histogram = self._latency_histogram(endpoint, variant, start, end)
        return VariantStats(requests, errors_4xx, errors_5xx, max(p99) / 1000 if p99 else None, histogram,
                            self._answers(variant, start, end))

    def series(self, endpoint: str, variant: str, window_seconds: float) -> list[Point]:
        """Every minute of the window CloudWatch has, the current one included (a chart shows it)."""
        end = self._now()
        start = end - dt.timedelta(seconds=window_seconds)
        by_time: dict[float, dict[str, Any]] = {}
        for metric in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors"):
            for point in self._statistic(endpoint, variant, metric, start, end, Statistics=["Sum"]):
                by_time.setdefault(point["Timestamp"].timestamp(), {})[metric] = int(point["Sum"])
        for point in self._statistic(endpoint, variant, "ModelLatency", start, end, ExtendedStatistics=["p99"]):
            p99 = point.get("ExtendedStatistics", {}).get("p99")
            by_time.setdefault(point["Timestamp"].timestamp(), {})["p99"] = p99 / 1000 if p99 is not None else None
        return [Point(time, v.get("Invocations", 0), v.get("Invocation4XXErrors", 0),
                      v.get("Invocation5XXErrors", 0), v.get("p99")) for time, v in sorted(by_time.items())]
