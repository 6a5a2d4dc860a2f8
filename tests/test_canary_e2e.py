"""`canary` against the running local API: start, status, promote, rollback under load, and
automated runs that roll back on a failing candidate, on SIGINT and on a metrics outage."""

from __future__ import annotations

import concurrent.futures
import json
import math
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from canary import service
from canary.metrics_sources import LocalRuntime
from canary.stacks import LocalStack
from core import run_state
from core.metrics import MetricsError
from core.run_state import RunState, RunStatus
from tests.canary_fakes import QuietConsole, StubMetrics
from tests.conftest import free_port_block
from tests.stacks import ROOT
from tests.test_canary_cli import CANARY
from tests.test_local_e2e import LocalApi, _copy_version


def _break_model(folder: Path) -> None:
    """A version whose server starts but answers every prediction with a 5xx (mismatched factors)."""
    with np.load(folder / "model.npz") as arrays:
        values = dict(arrays)
    values["item_factors"] = values["item_factors"][:, :7]
    np.savez(folder / "model.npz", **values)


@pytest.fixture(scope="module")
def api(trained, tmp_path_factory):
    project = tmp_path_factory.mktemp("canary-project")
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    config = values["config"]
    config["ratings:models"].append({**config["ratings:models"][1], "name": "v3",
                                     "modelData": "s3://my-ratings-models/local/v3/model.tar.gz"})
    # Model latency is judged in test_canary_analysis. Here another test worker shares the two
    # cores with these servers, so a candidate's p99 over ~150 requests is one scheduling stall:
    # these tests are about the rollout's moves, so latency counts only past a second.
    config["ratings:routing"] = {"live": "v1", "analysis": {"latencyFloorMs": 1000}}
    base = free_port_block(5)
    config["ratings:local"] = {"artifacts": "artifacts", "gatewayPort": base, "runtimePort": base + 1,
                               "modelPortBase": base + 2, "canarySeed": 11}
    (project / "Pulumi.local.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    for version in ("v1", "v2", "v3"):
        _copy_version(trained["folder"], project / "artifacts" / version, version)
    _break_model(project / "artifacts" / "v3")
    local = LocalApi(project)
    yield local
    local.stop()


def canary(api: LocalApi, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CANARY, "--project-dir", str(api.project), *args], capture_output=True, text=True,
                          timeout=300)


def _traffic(api: LocalApi, count: int, workers: int = 8) -> list[tuple[int, str]]:
    paths = [f"/local/predicted-ratings/{n % 900 + 1}?items=5,6" for n in range(count)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return [(status, headers.get("x-model-version", "")) for status, headers, _ in pool.map(api.get, paths)]


def _under_load(api: LocalApi, action) -> tuple[list[tuple[int, str]], subprocess.CompletedProcess]:
    """Run ``action`` while 8 clients keep sending requests; return every answer and its result."""
    return _load(api, action, lambda status, version: (status, version))


def _load(api: LocalApi, action, answer: Callable[[int, str], tuple]) -> tuple[list[tuple], object]:
    """``action`` under 8 clients' requests, each answer kept as ``answer(status, version)`` makes it."""
    answers: list[tuple] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        n = offset
        while not stop.is_set():
            status, headers, _ = api.get(f"/local/predicted-ratings/{n % 900 + 1}?items=5")
            answers.append(answer(status, headers.get("x-model-version", "")))
            n += 8

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: len(answers) >= 50)  # traffic flows before the action ...
        result = action()
        api.await_file_routing()  # ... and after it, once the gateway serves what the action wrote
        served_before = len(answers)
        _wait_for(lambda: len(answers) >= served_before + 50)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return answers, result


def test_start_status_promote_rollback(api):
    started = canary(api, "start", "v2", "--percent", "10")
    assert started.returncode == 0, started.stderr
    api.await_routing("v1", "v2", 10)
    answers = _traffic(api, 1500)
    assert all(status == 200 for status, _ in answers)
    share = sum(version == "v2" for _, version in answers) / len(answers)
    assert abs(share - 0.10) <= 4 * math.sqrt(0.09 / len(answers)), f"observed canary share {share:.3f}"

    status = canary(api, "status", "--window", "5m")
    assert status.returncode == 0, status.stderr
    lines = [line.split() for line in status.stdout.splitlines()]
    assert ["v2", "canary", "10.0%"] in lines and ["v1", "live", "90.0%"] in lines
    metrics = {row[0]: row for row in lines if len(row) == 6 and row[0] in ("v1", "v2")}
    assert int(metrics["v1"][1]) > int(metrics["v2"][1]) > 100, status.stdout
    assert "verdict: pass" in status.stdout
    assert "warning" not in status.stdout, "the gateway routes as the file says"
    chart = api.project / "canary.png"
    charted = canary(api, "status", "--window", "5m", "--chart", str(chart))
    assert charted.returncode == 0 and chart.read_bytes()[:4] == b"\x89PNG"

    answers, promoted = _under_load(api, lambda: canary(api, "promote", "--window", "5m", "--min-requests", "50"))
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert [a for a in answers if a[0] != 200] == []
    api.await_routing("v2")
    assert {version for _, version in _traffic(api, 300)} == {"v2"}, "after promotion all traffic is v2"

    answers, rolled_back = _under_load(api, lambda: canary(api, "rollback"))
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert [a for a in answers if a[0] != 200] == []
    api.await_routing("v1")
    assert {version for _, version in _traffic(api, 300)} == {"v1"}, "after rollback all traffic is v1 again"


def test_an_automated_run_with_a_failing_candidate_rolls_back(api):
    answers, run = _under_load(api, lambda: canary(api, "run", "v3", "--no-quality", "--steps", "30,60", "--bake", "3s",
                                                   "--window", "1m", "--min-requests", "20"))
    assert run.returncode == 3, run.stdout + run.stderr  # 3: rolled back on a failing verdict
    assert "rolled back: fail: candidate 5xx rate" in run.stdout
    routing = yaml.safe_load(api.stack_file.read_text())["config"]["ratings:routing"]
    assert routing.get("canary") is None and routing["live"] == "v1"
    failed = [status for status, _ in answers if status != 200]
    assert failed and set(failed) == {502}, "only the failing candidate's share fails, as JSON 502"
    api.await_routing("v1")
    assert {version for _, version in _traffic(api, 200)} == {"v1"}
    resumed = canary(api, "run", "--resume", "--dry-run")  # a judged run is not resumed, it is retried
    assert resumed.returncode == 1 and "ended fail" in resumed.stderr and "`canary run --retry`" in resumed.stderr
    retried = canary(api, "run", "--retry", "--dry-run")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.startswith("the last run of v3 ended fail: rolled back: fail: candidate 5xx rate")


def _state(api: LocalApi) -> RunState | None:
    return run_state.load(api.project / "Pulumi.local.canary-run.json")


def _baking(api: LocalApi, verdicts: int) -> bool:
    state = _state(api)
    return state is not None and state.phase == "baking" and len(state.verdicts) >= verdicts


def _routing(api: LocalApi) -> dict:
    return yaml.safe_load(api.stack_file.read_text())["config"]["ratings:routing"]


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the run did not reach the expected state in time"
        time.sleep(0.1)


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_mid_bake_rolls_the_candidate_back_and_records_it(api, stop, code):
    def interrupted_run():
        # failures tolerated: this test is about the interrupt, whatever the verdicts under load
        process = subprocess.Popen([CANARY, "--project-dir", str(api.project), "run", "v2", "--no-quality",
                                    "--steps", "20,50", "--bake", "5m", "--interval", "1s", "--failure-limit", "1000"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for(lambda: _baking(api, verdicts=2))
            assert _routing(api)["canary"]["percent"] == 20
            process.send_signal(stop)
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
        return process.returncode, out + err

    _, (exit_code, output) = _under_load(api, interrupted_run)
    assert exit_code == code, output
    state = _state(api)
    assert (state.status, state.ended_by, state.phase, state.step) == ("rolled back", stop.name, "done", 0)
    assert state.reason == f"rolled back: interrupted by {stop.name}"
    assert _routing(api).get("canary") is None and _routing(api)["live"] == "v1"
    status = canary(api, "status", "--window", "1m")
    assert "run of v2: rolled back" in status.stdout, status.stdout + status.stderr
    resumed = canary(api, "run", "--resume", "--dry-run")
    assert resumed.returncode == 0 and resumed.stdout.startswith("  step 1: set canary weight to 20 %")


def _run_in_background(api: LocalApi, *flags: str) -> subprocess.Popen:
    """A long run of v2 whose verdicts do not end it (this is about the operator's commands)."""
    return subprocess.Popen([CANARY, "--project-dir", str(api.project), "run", "v2", "--no-quality", "--steps",
                             "20,50", "--bake", "5m", "--interval", "1s", "--failure-limit", "1000", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_manual_changes_during_a_run_are_refused_with_the_commands_that_act_through_it(api):
    process = _run_in_background(api)
    try:
        _wait_for(lambda: _baking(api, verdicts=1))
        refused = {name: canary(api, *args) for name, args in (
            ("set", ("set", "--percent", "40")), ("promote", ("promote",)), ("rollback", ("rollback",)),
            ("start", ("start", "v3", "--percent", "5")), ("run", ("run", "v3", "--dry-run")))}
        assert _routing(api)["canary"] == {"version": "v2", "percent": 20, "mode": "request"}, "nothing changed"
        assert _state(api).status == "running"
        paused = canary(api, "pause")
        assert paused.returncode == 0 and "to hold its weight" in paused.stdout, paused.stderr
        _wait_for(lambda: _state(api).phase == "paused", 10)
        looks = len(_state(api).verdicts)
        _wait_for(lambda: len(_state(api).verdicts) >= looks + 2, 10)  # judged while paused
        assert canary(api, "resume").returncode == 0
        _wait_for(lambda: _state(api).phase == "baking", 10)
    finally:
        aborted = canary(api, "abort")
        out, err = process.communicate(timeout=120)
    for name, done in refused.items():
        assert done.returncode == 1, (name, done.stderr)
        assert f"a run of v2 is in progress on stack local (process {process.pid}, step 1/2 at 20 %)" in done.stderr
        assert ("`canary abort` stops it and rolls back, `canary promote --full` promotes now, `canary pause` holds "
                "its weight") in done.stderr
    assert aborted.returncode == 0 and process.returncode == 6, out + err
    assert _routing(api).get("canary") is None and _routing(api)["live"] == "v1"


def test_abort_stops_the_candidates_answers_within_two_seconds_and_records_it(api):
    timings: dict[str, float] = {}

    def aborted_run():
        process = _run_in_background(api)
        try:
            _wait_for(lambda: _baking(api, verdicts=2))
            timings["abort"] = time.monotonic()
            done = canary(api, "abort", "--json")
            timings["returned"] = time.monotonic()
            process.communicate(timeout=60)
        finally:
            process.kill()
        return done, process.returncode

    answers, (done, run_exit) = _under_load_timed(api, aborted_run)
    assert done.returncode == 0 and run_exit == 6, done.stdout + done.stderr
    record = json.loads(done.stdout)
    assert (record["status"], record["endedBy"], record["step"]) == ("rolled back", "aborted", 1)
    assert record["reason"] == "rolled back: aborted by `canary abort` at step 1 (20 %)"
    last_candidate = max(at for at, version in answers if version == "v2")
    assert last_candidate - timings["abort"] <= 2.0, f"v2 answered {last_candidate - timings['abort']:.2f} s later"
    assert any(at > timings["returned"] and version == "v1" for at, version in answers), "live kept answering"
    assert _state(api).ended_by == "aborted" and canary(api, "run", "--resume", "--dry-run").returncode == 1


def _under_load_timed(api: LocalApi, action) -> tuple[list[tuple[float, str]], object]:
    """Like _under_load, each answer stamped with the time it arrived (monotonic) and its version."""
    return _load(api, action, lambda status, version: (time.monotonic(), version))


class FailingAfter:
    """The local metrics source, failing from its ``calls``-th read on (a metrics outage mid-run)."""

    def __init__(self, source: LocalRuntime, calls: int):
        self.source, self.calls = source, calls

    def variant_stats(self, endpoint, variant, window_seconds):
        self.calls -= 1
        if self.calls < 0:
            raise MetricsError("cannot read the metrics: connection refused")
        return self.source.variant_stats(endpoint, variant, window_seconds)


def test_a_metrics_outage_mid_run_rolls_the_candidate_back(api):
    runtime = LocalRuntime(api.runtime)
    # the step's baseline and two analyses (live and candidate each), then nothing
    outage = FailingAfter(runtime, calls=6)
    collaborators = service.Collaborators(StubMetrics(LocalStack("local", api.project), outage), QuietConsole())
    request = service.RunRequest("v2", [20, 50], 300.0, 0.5, 1000, 60.0, False, {})

    def run():
        return service.run(collaborators, service.prepare_run(collaborators, request))

    _, final = _under_load(api, run)
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == "error"
    assert final.reason == "rolled back: cannot read the metrics: connection refused"
    assert len(final.verdicts) == 2 and _state(api).status == "rolled back"
    assert _routing(api).get("canary") is None


def test_a_candidate_failing_from_the_start_is_rolled_back_within_two_intervals(api):
    interval = 3.0
    answers, run = _under_load(api, lambda: canary(api, "run", "v3", "--no-quality", "--steps", "30,60",
                                                   "--bake", "10m",
                                                   "--interval", f"{interval:g}s", "--window", "1m"))
    assert run.returncode == 3, run.stdout + run.stderr
    state = _state(api)
    weight_set = state.step_times[0][0]
    assert state.ended_by == "fail" and "candidate 5xx rate" in state.reason
    assert [v.kind for v in state.verdicts] == ["interval"], "the first measurement rolls back"
    assert state.updated_at - weight_set <= 2 * interval, "rolled back within two intervals, not after the bake"
    assert _routing(api).get("canary") is None
    assert {status for status, _ in answers} <= {200, 502}, "the candidate's share fails as JSON 502, nothing else"


def test_a_run_killed_outright_is_resumed_to_its_end(api):
    """kill -9 gives the run no chance to roll back: the canary stays as it was, the state says
    running with a dead pid, `status` says how to go on, and `run --resume` finishes the rollout."""
    def killed_then_resumed():
        process = subprocess.Popen([CANARY, "--project-dir", str(api.project), "run", "v2", "--steps", "20,50",
                                    "--bake", "3s", "--interval", "1s", "--window", "1m", "--min-requests", "20"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(lambda: _baking(api, verdicts=1))
        finally:
            process.kill()
            process.wait(timeout=10)
        left = (_state(api), _routing(api), canary(api, "status", "--window", "1m"))
        return left, canary(api, "run", "--resume")

    _, ((killed, routing, status), resumed) = _under_load(api, killed_then_resumed)
    try:
        assert (killed.status, killed.step) == ("running", 0)
        assert routing["canary"] == {"version": "v2", "percent": 20, "mode": "request"}, "nothing rolled back"
        assert f"its process {killed.pid} is gone: `canary --stack local run --resume` continues it" in status.stdout
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        final = _state(api)
        assert (final.status, final.step) == ("promoted", 1)
        assert [v.step for v in final.verdicts if v.kind == "gate"] == [0, 1], "each step's gate, once"
        assert _routing(api).get("canary") is None and _routing(api)["live"] == "v2"
    finally:
        canary(api, "rollback")  # v1 live again for the tests after this one
    assert _routing(api)["live"] == "v1"
