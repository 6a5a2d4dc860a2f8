"""CloudWatch's GetMetricStatistics over SageMaker's per-variant metrics and the stack's access-log
metric filters, as it behaves for a reader that is early: datapoints that arrive late, minutes with
no data, rounded start times.

Sources: the GetMetricStatistics API reference (start times "less than 15 days ago - Round down to
the nearest whole minute"; EndTime exclusive; datapoints "not returned in chronological order")
and "Amazon SageMaker AI metrics in Amazon CloudWatch" (invocation metrics per variant, at a
1-minute frequency; ModelLatency in microseconds). A minute with no request has no datapoint (a
period CloudWatch has no value for is left out of the answer). How late a minute is published is
not documented: ``delay_seconds`` sets it.

A metric filter publishes its value for each log event that matches and nothing for a minute with
no match (PutMetricFilter without a default value: "Monitoring: metric filters", CloudWatch Logs
User Guide); ``answered`` is one access-log line, counted as the filters of ``core.access_log``
count it. What SageMaker's metrics count for an invocation its container never answers is not
documented; ``invoked`` is only called for answered ones, the worst case for a reader of them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import access_log
from tests.aws.clients import AwsError, Handler

MINUTE = 60
NAMESPACE = "AWS/SageMaker"
COUNTS = ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")

Key = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric, dimensions


@dataclass
class CloudWatch:
    clock: Callable[[], float]  # epoch seconds
    delay_seconds: float = 60.0
    out: bool = False  # every call answers ServiceUnavailable (an outage)
    samples: dict[Key, dict[int, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))

    def invoked(self, endpoint: str, variant: str, status: int, latency_us: float, when: float) -> None:
        """One invocation as SageMaker reports it: a count, a 4xx or 5xx count, a latency sample."""
        minute = int(when // MINUTE * MINUTE)
        dimensions = frozenset({"EndpointName": endpoint, "VariantName": variant}.items())
        for metric, value in (("Invocations", 1.0), ("Invocation4XXErrors", float(400 <= status < 500)),
                              ("Invocation5XXErrors", float(status >= 500)), ("ModelLatency", latency_us)):
            self.samples[(NAMESPACE, metric, dimensions)][minute].append(value)

    def answered(self, namespace: str, stage: str, version: str, status: int, timed_out: bool, when: float,
                 cached: bool = False) -> None:
        """One access-log line of a request sent to ``version``, as the stack's filters count it
        (``cached``: a 200 of the stage cache, with no integration latency)."""
        minute = int(when // MINUTE * MINUTE)
        dimensions = frozenset({access_log.STAGE_DIMENSION: stage, access_log.VERSION_DIMENSION: version}.items())
        for metric, matches in ((access_log.ANSWERS, True), (access_log.CLIENT_ERRORS, 400 <= status < 500),
                                (access_log.SERVER_ERRORS, status >= 500), (access_log.TIMEOUTS, timed_out),
                                (access_log.CACHED, cached and status == 200)):
            if matches:
                self.samples[(namespace, metric, dimensions)][minute].append(1.0)

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.out:
            raise AwsError("ServiceUnavailable", "Service is unavailable", 503)
        dimensions = frozenset((d["Name"], d["Value"]) for d in params["Dimensions"])
        minutes = self.samples.get((params["Namespace"], params["MetricName"], dimensions), {})
        start = math.floor(params["StartTime"].timestamp() / MINUTE) * MINUTE  # rounded down (API reference)
        end, period = params["EndTime"].timestamp(), params["Period"]
        published = self.clock() - self.delay_seconds
        datapoints = []
        for bucket in range(start, int(end), period):
            values = [v for minute, samples in minutes.items() if bucket <= minute < min(bucket + period, end)
                      and minute + MINUTE <= published for v in samples]
            if values:
                datapoints.append(self._datapoint(bucket, values, params))
        return {"Label": params["MetricName"], "Datapoints": datapoints[::-1]}  # not in chronological order

    def get_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        """MetricStat queries only, each answered as GetMetricStatistics would for its statistic:
        SampleCount, pNN, or PR(:T), "the percentage of data points that have a value of T or less"
        ("CloudWatch statistics definitions"; exact here, where CloudWatch's ranks are estimates)."""
        results = []
        for query in params["MetricDataQueries"]:
            stat = query["MetricStat"]
            single = {"Namespace": stat["Metric"]["Namespace"], "MetricName": stat["Metric"]["MetricName"],
                      "Dimensions": stat["Metric"].get("Dimensions", []), "StartTime": params["StartTime"],
                      "EndTime": params["EndTime"], "Period": stat["Period"], "Statistics": ["SampleCount"]}
            points = self.get_metric_statistics(single)["Datapoints"]
            samples = [self._samples(single, point["Timestamp"]) for point in points]
            results.append({"Id": query["Id"], "StatusCode": "Complete",
                            "Timestamps": [point["Timestamp"] for point in points],
                            "Values": [_statistic(stat["Stat"], values) for values in samples]})
        return {"MetricDataResults": results}

    def _samples(self, params: dict[str, Any], bucket: dt.datetime) -> list[float]:
        dimensions = frozenset((d["Name"], d["Value"]) for d in params["Dimensions"])
        minutes = self.samples.get((params["Namespace"], params["MetricName"], dimensions), {})
        start = bucket.timestamp()
        end = min(start + params["Period"], params["EndTime"].timestamp())
        published = self.clock() - self.delay_seconds
        return [v for minute, values in minutes.items() if start <= minute < end and minute + MINUTE <= published
                for v in values]

    def _datapoint(self, bucket: int, values: list[float], params: dict[str, Any]) -> dict[str, Any]:
        point: dict[str, Any] = {"Timestamp": dt.datetime.fromtimestamp(bucket, dt.UTC)}
        for statistic in params.get("Statistics", []):
            point[statistic] = {"Sum": sum(values), "SampleCount": float(len(values)), "Maximum": max(values),
                                "Average": sum(values) / len(values), "Minimum": min(values)}[statistic]
        extended = {name: float(np.percentile(values, float(name[1:])))
                    for name in params.get("ExtendedStatistics", [])}
        if extended:
            point["ExtendedStatistics"] = extended
        return point

    def handlers(self) -> dict[str, Handler]:
        return {"GetMetricStatistics": self.get_metric_statistics, "GetMetricData": self.get_metric_data}


def _statistic(stat: str, values: list[float]) -> float:
    if stat == "SampleCount":
        return float(len(values))
    if stat.startswith("PR(:") and stat.endswith(")"):
        limit = float(stat[4:-1])
        return 100.0 * sum(value <= limit for value in values) / len(values)
    if stat.startswith("p"):
        return float(np.percentile(values, float(stat[1:])))
    raise AwsError("InvalidParameterValue", f"the model knows no statistic {stat}", 400)
