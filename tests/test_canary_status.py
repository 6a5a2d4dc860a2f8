"""`canary status` on a cloud stack, with CloudWatch under moto: the chart of a prod canary, the
JSON view and the exit code that tells the verdict."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import boto3
import pytest
from click.testing import CliRunner

from canary import cli
from canary.metrics_sources import CloudWatchMetrics
from tests.stacks import ROOT

DIMENSIONS = "EndpointName", "ratings-prod"


@pytest.fixture
def cloudwatch(monkeypatch):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        now = dt.datetime.now(dt.UTC)
        for variant, requests, errors in (("v1", 900, 0), ("v2", 80, 4)):
            dimensions = [{"Name": DIMENSIONS[0], "Value": DIMENSIONS[1]}, {"Name": "VariantName", "Value": variant}]
            client.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Value": value,
                 "Timestamp": now - dt.timedelta(minutes=minutes)}
                for minutes in (2, 3, 4)  # complete, published minutes (the last one may not be yet)
                for name, value in (("Invocations", requests), ("Invocation4XXErrors", 0),
                                    ("Invocation5XXErrors", errors))])
        yield client


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path)
    return tmp_path


def test_prod_status_with_a_chart(cloudwatch, project):
    chart = project / "prod.png"
    result = CliRunner().invoke(cli.main, ["--project-dir", str(project), "--stack", "prod", "status",
                                           "--chart", str(chart)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    # 12 candidate 5xx of 240 requests (5 %) against none of live's 2,700
    assert result.exit_code == 3, result.output
    assert "verdict: fail (candidate 5xx rate 5.00% (12 of 240) is over 1.5x live's 0.00% (0 of 2700)" in result.output
    # the evidence behind it, one line per check
    assert re.search(r"x 5xx rate +0\.00% \(0 of 2700\) +5\.00% \(12 of 240\) +at most 1\.5x live's.*of 100 needed",
                     result.output)
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_prod_status_as_json(cloudwatch, project):
    result = CliRunner().invoke(cli.main, ["--project-dir", str(project), "--stack", "prod", "status", "--json",
                                           "--min-error-rate", "0.1"])
    data = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert data["analysis"]["verdict"] == "pass"
    assert data["traffic"]["v1"]["requests"] == 2700 and data["traffic"]["v2"]["errors5xx"] == 12
    assert data["routing"]["canary"] == {"version": "v2", "percent": 10.0, "mode": "request"}
    checks = {check["metric"]: check for check in data["analysis"]["checks"]}
    assert checks["5xx rate"]["candidate"] == "5.00% (12 of 240)" and not checks["5xx rate"]["failed"]
    assert checks["5xx rate"]["evidence"] == "under the floor: not tested", "--min-error-rate 0.1 lifted the floor"


def test_status_reads_a_stack_whose_webhook_is_a_secret(cloudwatch, project):
    path = project / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("  ratings:notifications:\n", "  ratings:notifications:\n"
                                             "    webhook:\n      secure: v1:AAABAKDDw1yC8iO+ua7o5q7fXhVN0p0=\n"))
    result = CliRunner().invoke(cli.main, ["--project-dir", str(project), "--stack", "prod", "status", "--json"])
    assert result.exit_code == 3, result.output  # the fixture's candidate fails on 5xx: a verdict, not an error
    assert json.loads(result.stdout)["analysis"]["verdict"] == "fail"


def test_cloudwatch_series_groups_the_metrics_by_minute(cloudwatch):
    points = CloudWatchMetrics(cloudwatch).series("ratings-prod", "v2", 600)
    assert [(p.requests, p.errors_5xx) for p in points] == [(80, 4)] * 3
    assert points == sorted(points, key=lambda p: p.time)


def test_watch_redraws_until_ctrl_c(cloudwatch, project, monkeypatch):
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.time, "sleep", sleep)
    result = CliRunner().invoke(cli.main, ["--project-dir", str(project), "--stack", "prod", "status", "--watch",
                                           "--refresh", "5s"], color=True)
    assert result.exit_code == 0 and naps == [5.0, 5.0]
    frames = result.output.split(cli.CLEAR)[1:]
    assert len(frames) == 2 and all("verdict: fail" in frame and "v2        canary" in frame for frame in frames)


def test_a_chart_with_no_requests_spans_the_window_it_read():
    """No version served in the window: the time axis is the window itself, ending now, and says so,
    rather than matplotlib's default range with every tick labelled 00:00."""
    import datetime as _dt

    from canary import chart
    from core.thresholds import AnalysisThresholds

    now = _dt.datetime(2026, 12, 2, 14, 30).timestamp()
    figure = chart.figure_of({"v1": [], "v2": []}, "nothing served", AnalysisThresholds(), None, "v1", 600.0, now)
    figure.canvas.draw()
    labels = {tick.get_text() for tick in figure.axes[2].get_xticklabels() if tick.get_text()}
    assert labels and labels != {"00:00"} and "14:30" in labels
    assert any(text.get_text() == chart.MSG_NO_DATA for text in figure.axes[0].texts)
