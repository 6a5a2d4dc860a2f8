"""Rollout planning as tables: each command's new routing, or its refusal."""

from __future__ import annotations

import pytest

from canary import plan
from components import config as stack_config
from tests.stacks import DELETE, example, with_change

NO_CANARY = {"live": "v1"}


def _state(routing: dict) -> tuple[dict, stack_config.StackConfig]:
    values = with_change(example("prod"), "ratings:routing", routing)
    return values, stack_config.parse(values)


@pytest.mark.parametrize(("routing", "command", "expected"), [
    (NO_CANARY, lambda v, c: plan.start(v, c, "v2", 5),
     {"live": "v1", "canary": {"version": "v2", "percent": 5, "mode": "request"}}),
    (NO_CANARY, lambda v, c: plan.start(v, c, "v2", 20, sticky=True),
     {"live": "v1", "canary": {"version": "v2", "percent": 20, "mode": "sticky"}}),
    ({"live": "v1", "canary": {"version": "v2", "percent": 5}}, lambda v, c: plan.set_percent(v, c, 50),
     {"live": "v1", "canary": {"version": "v2", "percent": 50}}),
    ({"live": "v1", "canary": {"version": "v2", "percent": 50}}, plan.promote, {"live": "v2", "previous": "v1"}),
    ({"live": "v1", "canary": {"version": "v2", "percent": 50}}, plan.rollback, {"live": "v1"}),
    ({"live": "v2", "previous": "v1"}, plan.rollback, {"live": "v1"}),
    ({"live": "v2", "previous": "v1"}, lambda v, c: plan.start(v, c, "v1", 10),
     {"live": "v2", "previous": "v1", "canary": {"version": "v1", "percent": 10, "mode": "request"}}),
])
def test_plans(routing, command, expected):
    values, config = _state(routing)
    result = command(values, config)
    assert result.after["ratings:routing"] == expected
    assert {k: v for k, v in result.after.items() if k != "ratings:routing"} == \
           {k: v for k, v in values.items() if k != "ratings:routing"}, "nothing else may change"


@pytest.mark.parametrize(("routing", "command", "reason"), [
    (NO_CANARY, lambda v, c: plan.start(v, c, "v7", 5), "v7 is not a configured model version"),
    (NO_CANARY, lambda v, c: plan.start(v, c, "v1", 5), "v1 is already live"),
    (NO_CANARY, lambda v, c: plan.start(v, c, "v2", 0), "percent 0 must be in (0, 100]"),
    ({"live": "v1", "canary": {"version": "v2", "percent": 5}}, lambda v, c: plan.start(v, c, "v2", 5),
     "a canary of v2 is already running"),
    (NO_CANARY, lambda v, c: plan.set_percent(v, c, 20), "no canary is running"),
    (NO_CANARY, plan.promote, "no canary is running; nothing to promote"),
    (NO_CANARY, plan.rollback, "nothing to roll back"),
    (NO_CANARY, lambda v, c: plan.retire(v, c, "v1"), "v1 is live"),
    ({"live": "v1", "canary": {"version": "v2", "percent": 5}}, lambda v, c: plan.retire(v, c, "v2"),
     "v2 is the running canary"),
])
def test_refusals(routing, command, reason):
    values, config = _state(routing)
    with pytest.raises(plan.Refusal) as refused:
        command(values, config)
    assert reason in str(refused.value)


def test_retire_removes_the_version_and_its_rollback():
    values, config = _state({"live": "v2", "previous": "v1"})
    values = with_change(values, "ratings:endpoint.autoscaling", DELETE)
    result = plan.retire(values, stack_config.parse(values), "v1")
    assert [m["name"] for m in result.after["ratings:models"]] == ["v2"]
    assert result.after["ratings:routing"] == {"live": "v2"}
    assert result.after["ratings:endpoint"]["defaultVariant"] == "v2"
    assert "rollback to v1 is no longer possible" in result.notes


def test_promotion_keeps_the_endpoint_configuration():
    values, config = _state({"live": "v1", "canary": {"version": "v2", "percent": 50}})
    after = stack_config.parse(plan.promote(values, config).after)
    assert after.endpoint == config.endpoint and after.models == config.models


def test_changes_list_the_differences():
    values, config = _state(NO_CANARY)
    lines = plan.start(values, config, "v2", 5).changes()
    assert lines == ["ratings:routing: {'live': 'v1'} -> {'live': 'v1', 'canary': "
                     "{'version': 'v2', 'percent': 5, 'mode': 'request'}}"]
