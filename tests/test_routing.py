"""Routing decisions as tables: weights, stage variables, canary settings, autoscaled variants."""

from __future__ import annotations

import pytest

from components import config as cfg
from components import routing
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
    assert routing.variant_weights(_config(**changes)) == weights


@pytest.mark.parametrize(("changes", "variables", "plan"), [
    ({}, {"variant": "v1", "maxItems": "100"}, routing.CanaryPlan(10.0, {"variant": "v2"})),
    ({"ratings:routing__canary__percent": 2.5}, {"variant": "v1", "maxItems": "100"},
     routing.CanaryPlan(2.5, {"variant": "v2"})),
    ({"ratings:routing__canary": DELETE}, {"variant": "v1", "maxItems": "100"}, None),
    ({"ratings:routing__canary__mode": "sticky"},
     {"variant": "v1", "maxItems": "100", "candidate": "v2", "candidatePercent": "10"}, None),
    ({"ratings:routing__live": "v2", "ratings:routing__canary__version": "v1", "ratings:api__maxItems": 20},
     {"variant": "v2", "maxItems": "20"}, routing.CanaryPlan(10.0, {"variant": "v1"})),
])
def test_stage_variables_and_canary_plan(changes, variables, plan):
    config = _config(**changes)
    assert routing.stage_variables(config) == variables
    assert routing.canary_plan(config) == plan


@pytest.mark.parametrize(("changes", "scaled"), [
    ({}, ("v1", "v2")),
    ({"ratings:routing__canary": DELETE}, ("v1",)),
    ({"ratings:endpoint__autoscaling": DELETE}, ()),
])
def test_only_serving_variants_are_autoscaled(changes, scaled):
    assert routing.autoscaled_variants(_config(**changes)) == scaled
