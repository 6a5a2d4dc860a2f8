"""Hot reload of the stack file: what is applied, what is refused, what needs a restart."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil

import pytest
import yaml

from core.config import Fault
from core.stack_file import read as read_stack_file
from emulator import reload
from emulator.constants import INVOKED_HEADER
from emulator.gateway import Gateway
from emulator.gateway_state import StateHolder
from emulator.http import Answer
from tests.stacks import ROOT

PATH = "/local/predicted-ratings/321"


@pytest.fixture
def stack_file(tmp_path):
    target = tmp_path / "Pulumi.local.yaml"
    shutil.copy(ROOT / "Pulumi.local.yaml", target)
    return target


def _edit(stack_file, **changes) -> None:
    values = yaml.safe_load(stack_file.read_text())
    for key, value in changes.items():
        values["config"][f"ratings:{key}"] = value
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))


def _config(stack_file):
    return read_stack_file(stack_file).config


@pytest.mark.parametrize(("routing", "running", "problems"), [
    ({"live": "v1"}, ["v1"], []),
    ({"live": "v1", "canary": {"version": "v2", "percent": 10}}, ["v1", "v2"], []),
    ({"live": "v1", "canary": {"version": "v2", "percent": 10}}, ["v1"],
     [reload.NO_SERVER.format(version="v2", running="v1")]),
    ({"live": "v2"}, [],
     [reload.NO_SERVER.format(version="v2", running="none")]),
])
def test_routes_to_versions_without_a_server_are_problems(stack_file, routing, running, problems):
    _edit(stack_file, routing=routing)
    assert reload.unservable(_config(stack_file), running) == problems


def _models(config, *names):
    models = {model.name: model for model in config.models}
    template = config.models[0]
    return dataclasses.replace(config, models=tuple(models.get(name, dataclasses.replace(template, name=name))
                                                    for name in names))


@pytest.mark.parametrize(("names", "running", "served_routing", "start", "stop"), [
    (["v1", "v2"], ["v1", "v2"], {"live": "v1"}, (), ()),
    (["v1", "v2", "v3"], ["v1", "v2"], {"live": "v1"}, ("v3",), ()),
    (["v1"], ["v1", "v2"], {"live": "v1"}, (), ("v2",)),
    # the state served still routes a canary to v2: it stops only once an edit without it applies
    (["v1"], ["v1", "v2"], {"live": "v1", "canary": {"version": "v2", "percent": 10}}, (), ()),
    (["v2", "v3"], ["v1", "v2"], {"live": "v1"}, ("v3",), ()),
])
def test_the_fleet_starts_added_versions_and_stops_removed_ones_no_longer_routed(stack_file, names, running,
                                                                               served_routing, start, stop):
    _edit(stack_file, routing=served_routing)
    served = _config(stack_file)
    assert reload.fleet_change(_models(served, *names), running, served) == reload.FleetChange(start, stop)


def test_restart_notes_name_what_a_running_api_cannot_apply(stack_file):
    old = _config(stack_file)
    new = dataclasses.replace(old, local=dataclasses.replace(old.local, gateway_port=9999),
                              endpoint=dataclasses.replace(old.endpoint, name="other"))
    assert reload.restart_notes(old, new) == [
        "ratings:local (ports, artifacts, canarySeed) changed: takes effect after restarting `ratings local up`",
        "the endpoint name changed: takes effect after restarting `ratings local up`"]
    assert reload.restart_notes(old, old) == []


def test_faults_apply_without_a_restart_and_are_said_when_applied(stack_file):
    old = _config(stack_file)
    new = dataclasses.replace(old, local=dataclasses.replace(old.local, faults={"v2": Fault(error_rate=0.005)}))
    assert reload.restart_notes(old, new) == []
    assert reload.applied_summary(new).endswith("fault on v2: 0.50% errors")
    hung = dataclasses.replace(old, local=dataclasses.replace(old.local, faults={"v2": Fault(hang=True)}))
    assert reload.applied_summary(hung).endswith("fault on v2: hangs")


def test_a_canary_to_a_version_without_a_server_is_refused_and_the_last_state_kept(stack_file):
    reports: list[str] = []
    holder = StateHolder(stack_file, report=reports.append, running=["v1"])
    _edit(stack_file, routing={"live": "v1"})
    holder._maybe_reload()
    assert holder.state.canary is None and reports[-1].endswith("applied (live v1, throttle 2000 req/s, burst 4000)")
    _edit(stack_file, routing={"live": "v1", "canary": {"version": "v2", "percent": 50}})
    holder._maybe_reload()
    assert holder.state.canary is None, "the canary must not be applied"
    assert "not applied" in reports[-1] and "version v2 has no model server up yet" in reports[-1]


class _Ok:
    async def invoke(self, endpoint, body, content_type, accept, target, caller_timeout_s=None):
        return Answer(200, {INVOKED_HEADER: "v1"}, json.dumps({"predictions": [{"scores": [3.0]}]}).encode())


def _statuses(gateway: Gateway, count: int) -> list[int]:
    loop = asyncio.new_event_loop()
    try:
        return [loop.run_until_complete(gateway.handle("GET", PATH, "items=1", {})).status for _ in range(count)]
    finally:
        loop.close()


def test_a_throttle_change_is_applied_and_reported(stack_file):
    reports: list[str] = []
    holder = StateHolder(stack_file, report=reports.append)
    gateway = Gateway(holder, _Ok(), lambda line: None)
    assert _statuses(gateway, 5) == [200] * 5
    values = yaml.safe_load(stack_file.read_text())
    _edit(stack_file, api={**values["config"]["ratings:api"], "throttle": {"rateLimit": 1, "burstLimit": 2}})
    holder._maybe_reload()
    assert "throttle 1 req/s, burst 2" in reports[-1]
    assert _statuses(gateway, 4) == [200, 200, 429, 429]
