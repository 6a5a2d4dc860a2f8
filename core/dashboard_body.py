"""The rollout dashboard's body: a pure function of the stack config and the API's name.

A CloudWatch dashboard is a grid 24 columns wide. From the top:
- a header naming the live version, the candidate, its share and the canary mode;
- the API stage: requests, 4xx/5xx and latency, the stage on the left and its canary on the
  right. API Gateway reports a stage canary's requests apart from the stage's; a sticky canary
  splits inside the request template, so the stage's numbers hold both versions there and the
  per-version rows below are the comparison;
- with ``api.waf``, what the stage's web ACL allowed and blocked, and which rule blocked;
- the versions, one column each: the live version first, the candidate beside it, then the
  others (rollback targets, versions about to retire). Each column holds what the API answered
  for requests sent to the version (the access log's metric filters: answers, 5xx, timeouts),
  the model's invocations, 4xx/5xx, latency p50/p99, and the instances serving with their CPU.

The body follows the config: adding or retiring a version, or a routing flip, changes it, and
the dashboard is updated in place (its name comes from the endpoint's, never from versions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import access_log, names, routing, waf_rules
from core.config import StackConfig
from core.routing import CanaryMode, Role

GRID_WIDTH = 24
HEADER_HEIGHT = 2
WIDGET_HEIGHT = 6
MAX_VERSION_COLUMNS = 4  # narrower than 6 columns a time series is unreadable
PERIOD_SECONDS = 60  # SageMaker and API Gateway both publish per minute

SAGEMAKER = "AWS/SageMaker"
SAGEMAKER_INSTANCES = "/aws/sagemaker/Endpoints"
API_GATEWAY = "AWS/ApiGateway"
WAF = "AWS/WAFV2"
# API Gateway reports a canary's requests in their own metrics ("the canary release has its own
# logs and metrics", developer guide, "Set up an API Gateway canary release deployment") under the
# documented ApiName, Stage dimension set. The guide names the canary's log groups
# "<stage log group>/Canary" but not its Stage value; this suffix follows the log groups and is to
# be confirmed on a live stage with `aws cloudwatch list-metrics --namespace AWS/ApiGateway`.
CANARY_STAGE_SUFFIX = "/Canary"

Metric = list[Any]  # a dashboard metric array: namespace, name, dimension pairs, then options


@dataclass(frozen=True)
class Panel:
    """One metric widget before placement."""

    title: str
    metrics: list[Metric]
    annotations: tuple[dict[str, Any], ...] = ()


def canary_stage(stage_name: str) -> str:
    return f"{stage_name}{CANARY_STAGE_SUFFIX}"


def build(config: StackConfig, api_name: str, web_acl_name: str | None = None) -> dict[str, Any]:
    """The dashboard body as data (``render`` turns it into the JSON CloudWatch takes);
    ``web_acl_name``: the stage's web ACL (``api.waf``), the WebACL dimension of its metrics."""
    widgets = [_header(config)]
    y = HEADER_HEIGHT
    rows = _api_rows(config, api_name) + ([_waf_row(config, web_acl_name)] if web_acl_name else [])
    for row in rows:
        widgets += _place_row(row, y, config.region)
        y += WIDGET_HEIGHT
    versions = routing.version_order(config.routing, config.model_names)
    for start in range(0, len(versions), MAX_VERSION_COLUMNS):
        band = versions[start:start + MAX_VERSION_COLUMNS]
        for panels in zip(*(_version_panels(config, version) for version in band), strict=True):
            widgets += _place_row(list(panels), y, config.region)
            y += WIDGET_HEIGHT
    return {"widgets": widgets}


def render(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def _header(config: StackConfig) -> dict[str, Any]:
    canary = config.routing.canary
    rollout = (f"candidate **{canary.version}** takes {canary.percent:g} % ({canary.mode.value} mode)"
               if canary else "no canary")
    markdown = (f"# {config.endpoint.name}: live **{config.routing.live}**, {rollout}\n"
                f"API stage `{config.api.stage_name}`; versions on the endpoint: {', '.join(config.model_names)}")
    return {"type": "text", "x": 0, "y": 0, "width": GRID_WIDTH, "height": HEADER_HEIGHT,
            "properties": {"markdown": markdown}}


def _place_row(panels: list[Panel], y: int, region: str) -> list[dict[str, Any]]:
    width = GRID_WIDTH // len(panels)
    return [{"type": "metric", "x": index * width, "y": y, "width": width, "height": WIDGET_HEIGHT,
             "properties": _properties(panel, region)} for index, panel in enumerate(panels)]


def _properties(panel: Panel, region: str) -> dict[str, Any]:
    properties = {"title": panel.title, "view": "timeSeries", "stacked": False, "region": region,
                  "period": PERIOD_SECONDS, "metrics": panel.metrics}
    if panel.annotations:
        properties["annotations"] = {"horizontal": list(panel.annotations)}
    return properties


def _api_rows(config: StackConfig, api_name: str) -> list[list[Panel]]:
    stage = config.api.stage_name
    canary = config.routing.canary
    columns = [(stage, f"stage {stage} ({_stage_label(config)})")]
    if canary is not None and routing.canary_settings(config.routing) is not None:
        columns.append((canary_stage(stage), f"stage canary ({canary.version}, {canary.percent:g} %)"))

    def metric(stage_value: str, name: str, **options: Any) -> Metric:
        return [API_GATEWAY, name, "ApiName", api_name, "Stage", stage_value, options]

    return [
        [Panel(f"Requests: {label}", [metric(value, "Count", stat="SampleCount", label="requests")])
         for value, label in columns],
        [Panel(f"Errors: {label}", [metric(value, "4XXError", stat="Sum", label="4xx"),
                                    metric(value, "5XXError", stat="Sum", label="5xx")])
         for value, label in columns],
        [Panel(f"Latency (ms): {label}", [metric(value, "Latency", stat="p50", label="p50"),
                                          metric(value, "Latency", stat="p99", label="p99")])
         for value, label in columns],
    ]


def _waf_row(config: StackConfig, web_acl_name: str) -> list[Panel]:
    """AWS WAF's metrics of the stage's web ACL (namespace AWS/WAFV2, dimensions WebACL, Region and
    Rule; Rule "ALL" is the whole web ACL): what it let through and blocked, and which rule blocked."""

    def metric(name: str, rule: str, label: str) -> Metric:
        return [WAF, name, "WebACL", web_acl_name, "Region", config.region, "Rule", rule,
                {"stat": "Sum", "label": label}]

    return [Panel("AWS WAF: requests", [metric("AllowedRequests", "ALL", "allowed"),
                                        metric("BlockedRequests", "ALL", "blocked")]),
            Panel("AWS WAF: blocked, by rule", [metric("BlockedRequests", rule.metric, rule.name)
                                                for rule in waf_rules.RULES])]


def _stage_label(config: StackConfig) -> str:
    canary = config.routing.canary
    if canary is not None and canary.mode is CanaryMode.STICKY:
        return f"{config.routing.live} and sticky candidate {canary.version}"
    return config.routing.live


def _role(config: StackConfig, version: str) -> str:
    role = routing.role_of(config.routing, version)
    if role is Role.CANDIDATE:
        return f"candidate, {routing.share_of(config.routing, version):g} %"
    return {Role.PREVIOUS: "rollback target"}.get(role, role.value)


def _version_panels(config: StackConfig, version: str) -> list[Panel]:
    endpoint = config.endpoint.name
    label = f"{version} ({_role(config, version)})"

    def metric(name: str, namespace: str = SAGEMAKER, **options: Any) -> Metric:
        return [namespace, name, "EndpointName", endpoint, "VariantName", version, options]

    alarms = config.endpoint.alarms
    return [
        Panel(f"API answers: {label}", _answer_metrics(config, version)),
        Panel(f"Invocations: {label}", [metric("Invocations", stat="Sum", label="invocations")]),
        Panel(f"Model errors: {label}", [metric("Invocation4XXErrors", stat="Sum", label="4xx"),
                                         metric("Invocation5XXErrors", stat="Sum", label="5xx")],
              ({"label": "5xx alarm", "value": alarms.errors_5xx},)),
        Panel(f"Model latency (µs): {label}", [metric("ModelLatency", stat="p50", label="p50"),
                                               metric("ModelLatency", stat="p99", label="p99")],
              ({"label": "p99 alarm", "value": alarms.latency_p99_ms * 1000},)),  # ModelLatency is in µs
        Panel(f"Instances: {label}", _instance_metrics(metric), _capacity(config, version)),
    ]


def _answer_metrics(config: StackConfig, version: str) -> list[Metric]:
    """What the stack's access-log filters counted for the version (``core.access_log``)."""
    namespace = names.answers_namespace(config.endpoint.name)
    where = [access_log.STAGE_DIMENSION, config.api.stage_name, access_log.VERSION_DIMENSION, version]
    return [[namespace, metric, *where, {"stat": "Sum", "label": label}]
            for metric, label in ((access_log.ANSWERS, "answers"), (access_log.SERVER_ERRORS, "5xx"),
                                  (access_log.TIMEOUTS, "gateway timeouts"))]


def _instance_metrics(metric: Callable[..., Metric]) -> list[Metric]:
    """Instances serving, from SageMaker's own normalisation: each request adds 1/instances to
    InvocationsPerInstance, so Invocations / InvocationsPerInstance is the instance count (shown
    while requests flow); CPU on the right axis tells whether they are busy."""
    return [
        [{"expression": "invocations / perinstance", "label": "instances serving", "id": "instances"}],
        metric("Invocations", stat="Sum", id="invocations", visible=False),
        metric("InvocationsPerInstance", stat="Sum", id="perinstance", visible=False),
        metric("CPUUtilization", SAGEMAKER_INSTANCES, stat="Average", label="CPU %", yAxis="right"),
    ]


def _capacity(config: StackConfig, version: str) -> tuple[dict[str, Any], ...]:
    scaling = config.endpoint.autoscaling
    if scaling is not None and version in routing.autoscaled_variants(config.routing, True):
        return ({"label": "min instances", "value": scaling.min_capacity},
                {"label": "max instances", "value": scaling.max_capacity})
    return ({"label": "configured instances", "value": config.model(version).instance_count},)
