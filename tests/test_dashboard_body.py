"""The rollout dashboard's body, built from stack configs without Pulumi (tests/metric_dimensions.py
holds the documented metrics it is checked against)."""

from __future__ import annotations

import json

import pytest

from core import config as stack_config
from core import dashboard_body, routing
from tests.metric_dimensions import DashboardMetric, expressions, metric_lines, problems
from tests.stacks import DELETE, example, with_change

API_NAME = "ratings-prod-api-a1b2c3d"


def _with_versions(values: dict, *versions: str) -> dict:
    models = values["ratings:models"]
    return with_change(values, "ratings:models", models + [
        dict(models[-1], name=version, modelData=f"s3://my-ratings-models/factorization/{version}/model.tar.gz")
        for version in versions])


def _promoted(values: dict) -> dict:
    config = stack_config.parse(values)
    return stack_config.with_routing(values, routing.Routing(config.routing.canary.version,
                                                             previous=config.routing.live))


def _order(config: stack_config.StackConfig) -> tuple[str, ...]:
    return routing.version_order(config.routing, config.model_names)


CONFIGS = {
    "prod (request canary)": example("prod"),
    "dev (no canary)": example("dev"),
    "sticky canary": with_change(example("prod"), "ratings:routing.canary.mode", "sticky"),
    "promoted (v1 is the rollback target)": _promoted(example("prod")),
    "six versions": _with_versions(example("prod"), "v3", "v4", "v5", "v6"),
    "canary on the second of three": with_change(_with_versions(example("prod"), "v3"),
                                                 "ratings:routing.canary.version", "v3"),
}


@pytest.fixture(params=CONFIGS, ids=list(CONFIGS))
def case(request):
    config = stack_config.parse(CONFIGS[request.param])
    return config, dashboard_body.build(config, API_NAME)


def _metrics(body: dict) -> list[tuple[dict, DashboardMetric]]:
    return [(widget, metric) for widget in body["widgets"] for metric in metric_lines(widget)]


def _version_widgets(body: dict, version: str) -> list[dict]:
    return [widget for widget in body["widgets"]
            if any(m.dimensions.get("VariantName") == version for m in metric_lines(widget))]


def test_the_body_is_the_json_cloudwatch_takes(case):
    _, body = case
    rendered = dashboard_body.render(body)
    assert json.loads(rendered) == body
    assert len(rendered.encode()) < 1_000_000, "PutDashboard accepts a body of at most 1 MB"


def test_every_metric_is_one_aws_publishes_under_that_dimension_set(case):
    _, body = case
    found = [f"{widget['properties']['title']}: {problem}"
             for widget, metric in _metrics(body) for problem in problems(metric)]
    assert not found, found


def test_every_configured_version_has_its_own_column_of_sagemaker_metrics(case):
    config, body = case
    for version in config.model_names:
        names = {m.name for w in _version_widgets(body, version) for m in metric_lines(w)}
        assert {"Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency",
                "InvocationsPerInstance", "CPUUtilization"} <= names, f"{version} lacks metrics: {names}"
        xs = {w["x"] for w in _version_widgets(body, version)}
        assert len(xs) == 1, f"the widgets of {version} must stack in one column, got x {xs}"
    variants = {m.dimensions["VariantName"] for _, m in _metrics(body) if "VariantName" in m.dimensions}
    assert variants == set(config.model_names), "no widget may name a version that is not configured"
    assert {m.dimensions["EndpointName"] for _, m in _metrics(body) if "EndpointName" in m.dimensions} \
        == {config.endpoint.name}


def test_live_and_candidate_sit_side_by_side(case):
    """Without a canary the version next to live is the first other one (the rollback target)."""
    config, body = case
    order = routing.version_order(config.routing, config.model_names)
    assert order[0] == config.routing.live
    if config.routing.canary is not None:
        assert order[1] == config.routing.canary.version
    if len(order) == 1:
        assert {w["x"] for w in _version_widgets(body, order[0])} == {0}
        return
    live, candidate = (_version_widgets(body, v) for v in order[:2])
    assert [w["y"] for w in live] == [w["y"] for w in candidate], "each live widget has its candidate beside it"
    for left, right in zip(live, candidate, strict=True):
        assert left["x"] == 0 and right["x"] == left["width"], (left["properties"]["title"],
                                                               right["properties"]["title"])


def test_widgets_fit_the_grid_without_overlapping(case):
    _, body = case
    cells = {}
    for widget in body["widgets"]:
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= dashboard_body.GRID_WIDTH, widget
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, f"{widget['properties'].get('title')} overlaps {cells[(x, y)]}"
                cells[(x, y)] = widget["properties"].get("title", "header")


def test_every_math_expression_reads_metrics_of_its_own_widget(case):
    _, body = case
    for widget in body["widgets"]:
        ids = {m.options["id"] for m in metric_lines(widget) if "id" in m.options}
        for expression in expressions(widget):
            terms = {t for t in expression["expression"].replace("/", " ").split() if t.isidentifier()}
            assert terms and terms <= ids, f"{widget['properties']['title']}: {expression} reads {terms - ids}"
            assert expression["id"][0].islower(), "CloudWatch metric math ids start with a lowercase letter"


def _api_stages(body: dict) -> dict[str, set[str]]:
    stages = {}
    for _, metric in _metrics(body):
        if metric.namespace == dashboard_body.API_GATEWAY:
            assert metric.dimensions["ApiName"] == API_NAME
            stages.setdefault(metric.dimensions["Stage"], set()).add(metric.name)
    return stages


@pytest.mark.parametrize("name, expected", [
    ("prod (request canary)", {"prod", "prod/Canary"}),
    ("sticky canary", {"prod"}),  # the template splits; the stage carries both versions
    ("dev (no canary)", {"dev"}),
    ("promoted (v1 is the rollback target)", {"prod"}),
])
def test_the_api_rows_show_the_stage_and_its_canary_when_there_is_one(name, expected):
    body = dashboard_body.build(stack_config.parse(CONFIGS[name]), API_NAME)
    stages = _api_stages(body)
    assert set(stages) == expected
    for metrics in stages.values():
        assert metrics == {"Count", "4XXError", "5XXError", "Latency"}


def test_the_stage_and_its_canary_share_rows():
    body = dashboard_body.build(stack_config.parse(example("prod")), API_NAME)
    by_stage = {}
    for widget, metric in _metrics(body):
        if metric.namespace == dashboard_body.API_GATEWAY:
            by_stage.setdefault(metric.dimensions["Stage"], set()).add((widget["x"], widget["y"]))
    assert {y for _, y in by_stage["prod"]} == {y for _, y in by_stage["prod/Canary"]}
    assert {x for x, _ in by_stage["prod"]} == {0} and {x for x, _ in by_stage["prod/Canary"]} == {12}


@pytest.mark.parametrize("name, order", [
    ("prod (request canary)", ("v1", "v2")),
    ("promoted (v1 is the rollback target)", ("v2", "v1")),
    ("canary on the second of three", ("v1", "v3", "v2")),
    ("six versions", ("v1", "v2", "v3", "v4", "v5", "v6")),
])
def test_versions_are_ordered_live_candidate_then_the_rest(name, order):
    assert _order(stack_config.parse(CONFIGS[name])) == order


def test_alarm_thresholds_are_drawn_in_the_units_of_their_metrics():
    config = stack_config.parse(example("prod"))
    body = dashboard_body.build(config, API_NAME)
    latency = next(w for w in _version_widgets(body, "v1") if w["properties"]["title"].startswith("Model latency"))
    assert latency["properties"]["annotations"]["horizontal"] == [
        {"label": "p99 alarm", "value": config.endpoint.alarms.latency_p99_ms * 1000}]  # ModelLatency: µs


def test_the_header_names_the_routing():
    body = dashboard_body.build(stack_config.parse(example("prod")), API_NAME)
    header = body["widgets"][0]["properties"]["markdown"]
    assert "live **v1**" in header and "candidate **v2** takes 10 % (request mode)" in header
    no_canary = dashboard_body.build(
        stack_config.parse(with_change(example("prod"), "ratings:routing.canary", DELETE)), API_NAME)
    assert "no canary" in no_canary["widgets"][0]["properties"]["markdown"]
