"""The running stack's model servers follow its file (``emulator.fleet``), with launches faked:
what is started, what is reported when a start fails, and when it is tried again."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys

from core.stack_file import read as read_stack_file
from emulator import fleet, processes
from emulator.runtime import SageMakerRuntime, Variant
from emulator.supervisor import Supervisor
from tests.stacks import ROOT


def _config(*names: str):
    config = read_stack_file(ROOT / "Pulumi.local.yaml").config
    template = config.models[0]
    return dataclasses.replace(config, models=tuple(dataclasses.replace(template, name=name) for name in names))


def _sleeper(version: str, port: int) -> processes.ModelServer:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    return processes.ModelServer(version, port, process)


class Launches:
    def __init__(self, failing: set[str]):
        self.failing, self.calls = failing, []

    def __call__(self, config, version: str, port: int, stopping) -> processes.ModelServer:
        self.calls.append((version, port))
        if version in self.failing:
            raise processes.StartError(f"model server {version} exited with code 1 at start: no model.npz")
        return _sleeper(version, port)


def _fleet(launch: Launches, reports: list[str], served) -> tuple[fleet.Fleet, SageMakerRuntime]:
    first = _sleeper("v1", 18101)
    runtime = SageMakerRuntime("ratings-local", [Variant("v1", first.url, 1.0)])
    return fleet.Fleet([first], runtime, Supervisor([first], reports.append), launch, reports.append,
                       served=lambda: served, recheck=lambda: None, drain_s=1.0), runtime


def test_an_added_version_joins_the_runtime_and_a_failed_one_is_said_once_and_retried_on_the_next_edit():
    reports: list[str] = []
    launch = Launches(failing={"v3"})
    served = _config("v1")
    served = dataclasses.replace(served, routing=dataclasses.replace(served.routing, canary=None))

    async def scenario() -> None:
        versions, runtime = _fleet(launch, reports, served)

        async def edit(*names: str) -> None:
            versions.want(_config(*names))
            await versions._reconcile(_config(*names))

        try:
            await edit("v1", "v2", "v3")
            assert versions.running == {"v1", "v2"} and set(runtime.variants) == {"v1", "v2"}
            await edit("v1", "v2", "v3")  # the same list saved again within a minute: no retry
            assert [call[0] for call in launch.calls] == ["v2", "v3"]
            await edit("v1", "v3")  # the list changed: v3 is tried at once (v2 is stopped)
            assert [call[0] for call in launch.calls] == ["v2", "v3", "v3"]
            assert versions.running == {"v1"} and set(runtime.variants) == {"v1"}
        finally:
            versions.stop_added([])
            await runtime.close()

    asyncio.run(scenario())
    ports = [port for _, port in launch.calls]
    assert ports[0] != 18101 and len(set(ports)) == 2, "each new server gets a port no server holds"
    assert reports.count(fleet.START_FAILED.format(
        version="v3", error="model server v3 exited with code 1 at start: no model.npz")) == 2
    assert fleet.STARTED.format(version="v2", url=f"http://127.0.0.1:{ports[0]}") in reports
    assert reports[-1] == fleet.STOPPED.format(version="v2")
