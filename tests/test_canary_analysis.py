"""Verdicts, durations, the step schedule and the automated run, all without I/O."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from canary import analysis, rollout
from canary.analysis import Thresholds, VariantStats, Verdict
from canary.metrics_sources import CloudWatchMetrics, MetricsError

LIVE = VariantStats(1000, 10, 0, 20.0)  # p99 20 ms: the latency rule applies above the 20 ms floor


@pytest.mark.parametrize(("candidate", "verdict", "reason"), [
    (VariantStats(200, 2, 0, 29.0), Verdict.PASS, "within every threshold"),
    (VariantStats(50, 0, 0, 20.0), Verdict.INCONCLUSIVE, "only 50 candidate requests, 100 needed"),
    (VariantStats(200, 0, 5, 20.0), Verdict.FAIL, "candidate 5xx rate 2.50% exceeds 1.00%"),
    (VariantStats(200, 30, 0, 20.0), Verdict.FAIL, "candidate 4xx rate 15.00% exceeds live's 1.00%"),
    (VariantStats(200, 0, 0, 45.0), Verdict.FAIL, "candidate p99 45.0 ms is over 1.5x live's 20.0 ms"),
    (VariantStats(10, 0, 3, 20.0), Verdict.FAIL, "5xx rate"),  # a failure shows even on few requests
])
def test_judge(candidate, verdict, reason):
    result = analysis.judge(LIVE, candidate, Thresholds())
    assert result.verdict is verdict and reason in "; ".join(result.reasons)


def test_fast_models_are_not_failed_for_relative_latency():
    live, candidate = VariantStats(500, 0, 0, 5.0), VariantStats(500, 0, 0, 8.0)
    assert analysis.judge(live, candidate, Thresholds()).verdict is Verdict.PASS


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300), ("1h", 3600),
                                                ("250ms", 0.25), ("1.5m", 90)])
def test_durations(text, seconds):
    assert rollout.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "-1s"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="is not a duration"):
        rollout.parse_duration(text)


def test_a_step_does_exactly_one_thing():
    with pytest.raises(ValueError):
        rollout.Step(set_weight=5, analysis=True)
    with pytest.raises(ValueError):
        rollout.Step()
    assert rollout.schedule([5, 50], 60) == [rollout.Step(set_weight=5), rollout.Step(pause_seconds=60),
                                             rollout.Step(analysis=True), rollout.Step(set_weight=50),
                                             rollout.Step(pause_seconds=60), rollout.Step(analysis=True)]


def _run(verdicts: list[Verdict]):
    log: list[str] = []
    answers = iter(analysis.Analysis(v, [v.value], LIVE, LIVE) for v in verdicts)
    outcome = rollout.run(rollout.schedule([5, 25, 50], 600), lambda w: log.append(f"weight {w:g}"),
                          lambda: next(answers), lambda: log.append("promote"), lambda: log.append("rollback"),
                          say=lambda line: None, sleep=lambda s: log.append(f"sleep {s:g}"))
    return outcome, log


def test_run_promotes_after_every_analysis_passes():
    outcome, log = _run([Verdict.PASS] * 3)
    assert outcome.promoted and log == ["weight 5", "sleep 600", "weight 25", "sleep 600", "weight 50", "sleep 600",
                                        "promote"]


@pytest.mark.parametrize("bad", [Verdict.FAIL, Verdict.INCONCLUSIVE])
def test_run_rolls_back_at_the_first_bad_analysis(bad):
    outcome, log = _run([Verdict.PASS, bad])
    assert not outcome.promoted and log[-1] == "rollback" and "promote" not in log
    assert outcome.reason.startswith(f"rolled back: {bad.value}")


def test_cloudwatch_reads_per_variant_sums_and_p99():
    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)
    source = CloudWatchMetrics(client, now=lambda: now)
    dimensions = [{"Name": "EndpointName", "Value": "ratings-prod"}, {"Name": "VariantName", "Value": "v2"}]
    with Stubber(client) as stub:
        for metric, value in (("Invocations", 300.0), ("Invocation4XXErrors", 6.0), ("Invocation5XXErrors", 1.0)):
            stub.add_response("get_metric_statistics", {"Datapoints": [{"Sum": value / 2}, {"Sum": value / 2}]},
                              {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dimensions,
                               "StartTime": now - dt.timedelta(seconds=600), "EndTime": now, "Period": 60,
                               "Statistics": ["Sum"]})
        stub.add_response("get_metric_statistics",
                          {"Datapoints": [{"ExtendedStatistics": {"p99": 12000.0}},
                                          {"ExtendedStatistics": {"p99": 8000.0}}]},
                          {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": dimensions,
                           "StartTime": now - dt.timedelta(seconds=600), "EndTime": now, "Period": 60,
                           "ExtendedStatistics": ["p99"]})
        assert source.variant_stats("ratings-prod", "v2", 600) == VariantStats(300, 6, 1, 12.0)


def test_cloudwatch_errors_are_metrics_errors():
    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("get_metric_statistics", "AccessDenied", "not allowed")
        with pytest.raises(MetricsError, match="cannot read CloudWatch metric Invocations of ratings-prod/v2"):
            CloudWatchMetrics(client).variant_stats("ratings-prod", "v2", 600)


def test_cloudwatch_counts_under_moto(monkeypatch):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        now = dt.datetime.now(dt.timezone.utc)
        dimensions = [{"Name": "EndpointName", "Value": "ratings-prod"}, {"Name": "VariantName", "Value": "v2"}]
        client.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": now - dt.timedelta(minutes=2)}
            for name, value in (("Invocations", 240), ("Invocation4XXErrors", 4), ("Invocation5XXErrors", 2))])
        stats = CloudWatchMetrics(client).variant_stats("ratings-prod", "v2", 600)
    # moto answers sums but not percentiles, so the p99 path is covered by the Stubber test above
    assert (stats.requests, stats.errors_4xx, stats.errors_5xx) == (240, 4, 2)
    assert analysis.judge(LIVE, stats, Thresholds()).verdict is Verdict.PASS
