"""The CloudWatch metrics AWS publishes for what the stack deploys, with their dimension sets.

A dashboard or alarm that names a metric under a dimension set AWS does not publish shows an
empty graph (or an alarm stuck in INSUFFICIENT_DATA) without any error, so tests check every
metric against this table, read from the AWS documentation:

- AWS/SageMaker: "SageMaker Endpoint Invocation Metrics" and "Dimensions for Endpoint
  Invocation Metrics" (EndpointName, VariantName), in "Monitor Amazon SageMaker with Amazon
  CloudWatch", https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
  (awsdocs/amazon-sagemaker-developer-guide doc_source/monitoring-cloudwatch.md).
- /aws/sagemaker/Endpoints: the endpoint instance metrics (CPUUtilization, MemoryUtilization,
  DiskUtilization, GPU*) of the same page, filtered by EndpointName, VariantName.
- AWS/ApiGateway: "Amazon API Gateway dimensions and metrics",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
  (awsdocs/amazon-api-gateway-developer-guide doc_source/api-gateway-metrics-and-dimensions.md):
  ApiName; ApiName, Stage; ApiName, Method, Resource, Stage (detailed metrics only).
- AWS/WAFV2: "AWS WAF metrics and dimensions",
  https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html: AllowedRequests,
  BlockedRequests, CountedRequests, PassedRequests per minute, for a regional web ACL by Region,
  Rule (a rule's metric name, or ALL for the whole web ACL) and WebACL (its name).
- RatingsApi/<endpoint>: the stack's own, what its access-log metric filters publish
  (core.access_log.answer_filters, each metric with its filter's dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import access_log

STACK_NAMESPACE_PREFIX = "RatingsApi/"

METRICS: dict[str, frozenset[str]] = {
    "AWS/SageMaker": frozenset({"Invocations", "Invocation4XXErrors", "Invocation5XXErrors",
                                "InvocationsPerInstance", "ModelLatency", "OverheadLatency"}),
    "/aws/sagemaker/Endpoints": frozenset({"CPUUtilization", "MemoryUtilization", "DiskUtilization",
                                           "GPUUtilization", "GPUMemoryUtilization"}),
    "AWS/ApiGateway": frozenset({"4XXError", "5XXError", "CacheHitCount", "CacheMissCount", "Count",
                                 "IntegrationLatency", "Latency"}),
    "AWS/WAFV2": frozenset({"AllowedRequests", "BlockedRequests", "CountedRequests", "PassedRequests"}),
    STACK_NAMESPACE_PREFIX: frozenset(f.metric for f in access_log.answer_filters()),
}

DIMENSION_SETS: dict[str, frozenset[frozenset[str]]] = {
    "AWS/SageMaker": frozenset({frozenset({"EndpointName", "VariantName"})}),
    "/aws/sagemaker/Endpoints": frozenset({frozenset({"EndpointName", "VariantName"})}),
    "AWS/ApiGateway": frozenset({frozenset({"ApiName"}), frozenset({"ApiName", "Stage"}),
                                 frozenset({"ApiName", "Method", "Resource", "Stage"})}),
    "AWS/WAFV2": frozenset({frozenset({"Region", "Rule", "WebACL"})}),
    STACK_NAMESPACE_PREFIX: frozenset(frozenset(f.dimensions) for f in access_log.answer_filters()),
}

# Statistics: CloudWatch's named statistics plus percentiles pNN(.NN)
# (CloudWatch User Guide, "CloudWatch statistics definitions").
NAMED_STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})


@dataclass(frozen=True)
class DashboardMetric:
    """One metric line of a dashboard widget (not a math expression)."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    options: dict[str, Any]


def metric_lines(widget: dict[str, Any]) -> list[DashboardMetric]:
    """The metric arrays of a widget, read as the dashboard body structure defines them:
    namespace, metric name, dimension name/value pairs, then an optional options object
    (CloudWatch API reference, "Dashboard Body Structure and Syntax", metrics array)."""
    lines = []
    for entry in widget.get("properties", {}).get("metrics", []):
        has_options = bool(entry) and isinstance(entry[-1], dict)
        options, fields = (entry[-1], entry[:-1]) if has_options else ({}, entry)
        if not fields:
            continue  # an expression line: only the options object
        namespace, name, *pairs = fields
        assert "." not in (namespace, name), "the body must spell out every namespace and metric name"
        assert len(pairs) % 2 == 0, f"unpaired dimension in {entry}"
        lines.append(DashboardMetric(namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return lines


def expressions(widget: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry[0] for entry in widget.get("properties", {}).get("metrics", [])
            if len(entry) == 1 and isinstance(entry[0], dict) and "expression" in entry[0]]


def problems(metric: DashboardMetric) -> list[str]:
    """What is wrong with a metric line against the documented metrics, or nothing."""
    found = []
    namespace = STACK_NAMESPACE_PREFIX if metric.namespace.startswith(STACK_NAMESPACE_PREFIX) else metric.namespace
    metric = DashboardMetric(namespace, metric.name, metric.dimensions, metric.options)
    if metric.name not in METRICS.get(metric.namespace, ()):
        found.append(f"{metric.namespace} does not publish {metric.name}")
    if frozenset(metric.dimensions) not in DIMENSION_SETS.get(metric.namespace, ()):
        found.append(f"{metric.namespace} {metric.name} has no dimension set {sorted(metric.dimensions)}")
    stat = metric.options.get("stat")
    if stat is not None and stat not in NAMED_STATISTICS and not _percentile(stat):
        found.append(f"{metric.namespace} {metric.name}: {stat!r} is not a CloudWatch statistic")
    return found


def _percentile(stat: str) -> bool:
    if not stat.startswith("p"):
        return False
    try:
        return 0 < float(stat[1:]) <= 100
    except ValueError:
        return False
