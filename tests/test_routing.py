"""Routing decisions as tables: weights, stage variables, canary settings, autoscaled variants, and
reading a stage back into the traffic it serves."""

from __future__ import annotations

import pytest

from core import config as cfg
from core import routing
from tests.stacks import DELETE, example, with_change


def _config(**changes) -> cfg.StackConfig:
    values = example("prod")
    for dotted, value in changes.items():
        values = with_change(values, dotted.replace("__", "."), value)
    return cfg.parse(values)


@pytest.mark.parametrize(("changes", "weights"), [
    ({}, {"v1": 1.0, "v2": 0.0}),
    ({"ratings:endpoint__defaultVariant": "v2"}, {"v1": 0.0, "v2": 1.0}),
    # promotion flips the live version but must not touch the endpoint configuration
    ({"ratings:routing__live": "v2", "ratings:routing__canary": DELETE}, {"v1": 1.0, "v2": 0.0}),
])
def test_variant_weights_follow_the_default_variant_not_routing(changes, weights):
    config = _config(**changes)
    assert routing.variant_weights(config.model_names, config.endpoint.default_variant) == weights


STAGES = [
    ({}, {"variant": "v1", "maxItems": "100"}, routing.CanarySettings(10.0, {"variant": "v2"})),
    ({"ratings:routing__canary__percent": 2.5}, {"variant": "v1", "maxItems": "100"},
     routing.CanarySettings(2.5, {"variant": "v2"})),
    ({"ratings:routing__canary": DELETE}, {"variant": "v1", "maxItems": "100"}, None),
    ({"ratings:routing__canary__mode": "sticky"},
     {"variant": "v1", "maxItems": "100", "candidate": "v2", "candidatePercent": "10"}, None),
    ({"ratings:routing__live": "v2", "ratings:routing__canary__version": "v1", "ratings:api__maxItems": 20},
     {"variant": "v2", "maxItems": "20"}, routing.CanarySettings(10.0, {"variant": "v1"})),
]


@pytest.mark.parametrize(("changes", "variables", "settings"), STAGES)
def test_stage_variables_and_canary_settings(changes, variables, settings):
    config = _config(**changes)
    assert routing.stage_variables(config.routing, config.api.max_items) == variables
    assert routing.canary_settings(config.routing) == settings


@pytest.mark.parametrize(("changes", "variables", "settings"), STAGES)
def test_a_stage_reads_back_as_the_traffic_it_was_made_from(changes, variables, settings):
    served = routing.served_by_stage(variables, settings)
    assert served.same_traffic(_config(**changes).routing)


def test_a_get_stage_answer_reads_as_the_traffic_it_serves():
    """The shape of API Gateway's GetStage response (API reference, GetStage: variables,
    canarySettings.percentTraffic and stageVariableOverrides)."""
    answer = {"stageName": "prod", "variables": {"variant": "v1", "maxItems": "100"},
              "canarySettings": {"percentTraffic": 12.5, "deploymentId": "abc123",
                                 "stageVariableOverrides": {"variant": "v3"}, "useStageCache": False}}
    assert routing.served_by_get_stage(answer) == routing.Routing("v1", routing.Canary("v3", 12.5))
    assert routing.served_by_get_stage({"variables": {"variant": "v1"}}) == routing.Routing("v1")


@pytest.mark.parametrize(("changes", "scaled"), [
    ({}, ("v1", "v2")),
    ({"ratings:routing__canary": DELETE}, ("v1",)),
    ({"ratings:endpoint__autoscaling": DELETE}, ()),
])
def test_only_serving_variants_are_autoscaled(changes, scaled):
    config = _config(**changes)
    assert routing.autoscaled_variants(config.routing, config.endpoint.autoscaling is not None) == scaled


@pytest.mark.parametrize(("version", "role", "share"), [
    ("v1", routing.Role.LIVE, 90.0), ("v2", routing.Role.CANDIDATE, 10.0), ("v0", routing.Role.PREVIOUS, 0.0),
    ("v9", routing.Role.IDLE, 0.0),
])
def test_every_version_has_one_role_and_share(version, role, share):
    served = routing.Routing("v1", routing.Canary("v2", 10.0), previous="v0")
    assert (routing.role_of(served, version), routing.share_of(served, version)) == (role, share)
