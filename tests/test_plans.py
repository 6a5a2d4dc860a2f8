"""Rollout planning as tables: each command's new routing (Routing -> Routing), or its refusal;
the config model writes the routing back into the stack file and nothing else changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core import config as stack_config
from core import plans as plan
from core import routing as routes
from core import stack_file
from core import thresholds as limits
from core.routing import Canary, CanaryMode, Routing
from tests.stacks import DELETE, example, with_change

NO_CANARY = {"live": "v1"}
RUNNING = {"live": "v1", "canary": {"version": "v2", "percent": 5}}


def _state(routing: dict) -> tuple[dict, stack_config.StackConfig]:
    values = with_change(example("prod"), "ratings:routing", routing)
    return values, stack_config.parse(values)


class Written:
    """A plan written into a stack file holding ``values``: the values the file holds after it."""

    def __init__(self, values: dict, make_change):
        document = stack_file.parse(Path("Pulumi.prod.yaml"), yaml.safe_dump({"config": values}, sort_keys=False))
        self.plan = plan.written(document, make_change(document.config))
        self.after = stack_file.parse(document.path, self.plan.text).values
        self.notes = self.plan.notes


@pytest.mark.parametrize(("routing", "command", "expected", "written"), [
    (NO_CANARY, lambda c: plan.start(c, "v2", 5), Routing("v1", Canary("v2", 5)),
     {"live": "v1", "canary": {"version": "v2", "percent": 5, "mode": "request"}}),
    (NO_CANARY, lambda c: plan.start(c, "v2", 20, sticky=True), Routing("v1", Canary("v2", 20, CanaryMode.STICKY)),
     {"live": "v1", "canary": {"version": "v2", "percent": 20, "mode": "sticky"}}),
    (RUNNING, lambda c: plan.set_percent(c, 50), Routing("v1", Canary("v2", 50)),
     {"live": "v1", "canary": {"version": "v2", "percent": 50}}),
    (RUNNING, lambda c: plan.set_percent(c, 12.5), Routing("v1", Canary("v2", 12.5)),
     {"live": "v1", "canary": {"version": "v2", "percent": 12.5}}),
    (RUNNING, plan.promote, Routing("v2", previous="v1"), {"live": "v2", "previous": "v1"}),
    (RUNNING, plan.rollback, Routing("v1"), {"live": "v1"}),
    ({"live": "v2", "previous": "v1"}, plan.rollback, Routing("v1"), {"live": "v1"}),
    ({"live": "v2", "previous": "v1"}, lambda c: plan.start(c, "v1", 10),
     Routing("v2", Canary("v1", 10), "v1"),
     {"live": "v2", "previous": "v1", "canary": {"version": "v1", "percent": 10, "mode": "request"}}),
    ({**RUNNING, "analysis": {"minRequests": 50}}, plan.promote,
     Routing("v2", previous="v1", analysis=limits.AnalysisThresholds(min_requests=50)),
     {"live": "v2", "analysis": {"minRequests": 50}, "previous": "v1"}),
])
def test_plans(routing, command, expected, written):
    values, config = _state(routing)
    change = command(config)
    assert change.after == expected
    result = Written(values, command)
    assert result.plan.after.routing == expected
    assert result.after["ratings:routing"] == written
    assert {k: v for k, v in result.after.items() if k != "ratings:routing"} == \
           {k: v for k, v in values.items() if k != "ratings:routing"}, "nothing else may change"


def test_whole_percents_are_written_as_integers():
    values, _ = _state(RUNNING)
    percent = Written(values, lambda c: plan.set_percent(c, 20.0)).after["ratings:routing"]["canary"]["percent"]
    assert percent == 20 and type(percent) is int


@pytest.mark.parametrize(("routing", "command", "reason"), [
    (NO_CANARY, lambda c: plan.start(c, "v7", 5), "v7 is not a configured model version"),
    (NO_CANARY, lambda c: plan.start(c, "v1", 5), "v1 is already live"),
    (NO_CANARY, lambda c: plan.start(c, "v2", 0), routes.percent_problem(0, "percent")),
    (NO_CANARY, lambda c: plan.start(c, "v2", 100.5), "percent: 100.5 is not a share of traffic"),
    (RUNNING, lambda c: plan.set_percent(c, -3), "percent: -3 is not a share of traffic"),
    (RUNNING, lambda c: plan.start(c, "v2", 5), "a canary of v2 is already running"),
    (NO_CANARY, lambda c: plan.set_percent(c, 20), "no canary is running"),
    (NO_CANARY, plan.promote, "no canary is running; nothing to promote"),
    (NO_CANARY, plan.rollback, "nothing to roll back"),
    (NO_CANARY, lambda c: plan.retire(c, "v1"), "v1 is live"),
    (NO_CANARY, lambda c: plan.retire(c, "v9"), "v9 is not a configured model version"),
    (RUNNING, lambda c: plan.retire(c, "v2"), "v2 is the running canary"),
])
def test_refusals(routing, command, reason):
    _, config = _state(routing)
    with pytest.raises(plan.Refusal) as refused:
        command(config)
    assert reason in str(refused.value)


def test_retire_removes_the_version_and_its_rollback():
    values, _ = _state({"live": "v2", "previous": "v1"})
    values = with_change(values, "ratings:endpoint.autoscaling", DELETE)
    result = Written(values, lambda c: plan.retire(c, "v1"))
    assert [m["name"] for m in result.after["ratings:models"]] == ["v2"]
    assert result.after["ratings:routing"] == {"live": "v2"}
    assert result.after["ratings:endpoint"]["defaultVariant"] == "v2"
    assert "rollback to v1 is no longer possible" in result.notes


@pytest.mark.parametrize(("changes", "says"), [
    ({}, [plan.MSG_KEPT_DEFAULT.format(version="v1"), "DesiredInstanceCount=2` brings it back to its configured 2"]),
    ({"ratings:endpoint.defaultVariant": "v2"}, [plan.MSG_KEPT_IDLE.format(version="v1")]),
    ({"ratings:endpoint.autoscaling": DELETE}, [plan.MSG_KEPT_DEFAULT.format(version="v1")]),
])
def test_promotion_says_what_keeps_running_of_the_old_version(changes, says):
    """prod: v1 (2 instances) is the default variant and autoscaled while live."""
    values, _ = _state(RUNNING)
    for dotted, value in changes.items():
        values = with_change(values, dotted, value)
    note = plan.promote(stack_config.parse(values)).notes[1]
    assert all(part in note for part in says), note
    assert ("autoscaling" in note) == ("ratings:endpoint.autoscaling" not in changes)


def test_promotion_keeps_the_endpoint_configuration():
    values, config = _state(RUNNING)
    after = stack_config.parse(Written(values, plan.promote).after)
    assert after.endpoint == config.endpoint and after.models == config.models
