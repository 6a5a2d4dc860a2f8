"""Rehearsed bad rollouts on the running local stack: `ratings:local.faults` makes a version fail,
and the real `canary run` must tell a healthy candidate from a broken one under load.

The gateway's integration timeout is lowered to 1 s and the model timeout to 15 s (the runtime
counts a timed-out invocation only when its own timeout ends), so a hang shows to the analysis
the way a stopped model server does on AWS: as requests that never come back."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from core import run_state
from core.files import write_atomic
from tests.test_canary_cli import CANARY
from tests.test_canary_e2e import _state, _under_load, _wait_for, canary
from tests.test_local_e2e import LocalApi, local_project

TIMEOUTS = {"RATINGS_INTEGRATION_TIMEOUT_S": "1", "RATINGS_MODEL_TIMEOUT_S": "15"}


@pytest.fixture(scope="module")
def rehearsal(trained, tmp_path_factory):
    # latency is not what these rehearse (another test worker shares the two cores)
    project = local_project(trained["folder"], tmp_path_factory.mktemp("rehearsal"),
                            {"live": "v1", "analysis": {"latencyFloorMs": 1000}}, canarySeed=13)
    local = LocalApi(project, TIMEOUTS)
    yield local
    local.stop()


def _faults(api: LocalApi, faults: dict) -> None:
    """Set ratings:local.faults in the stack file as a user would, keeping whatever canary wrote."""
    values = yaml.safe_load(api.stack_file.read_text())
    values["config"]["ratings:local"]["faults"] = faults
    write_atomic(api.stack_file, yaml.safe_dump(values, sort_keys=False))
    api.await_edit(applied=True)


def test_live_and_candidate_failing_alike_is_a_promotion(rehearsal):
    """Both versions fail 0.5 % of requests (a shared dependency): the candidate is no worse than
    live, and the judge compares them rather than failing every candidate on an absolute limit."""
    _faults(rehearsal, {"v1": {"errorRate": 0.005}, "v2": {"errorRate": 0.005}})
    try:
        answers, run = _under_load(rehearsal, lambda: canary(rehearsal, "run", "v2", "--steps", "20,50",
                                                             "--bake", "30s", "--interval", "5s"))
    finally:
        _faults(rehearsal, {})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every analysis passed; promoted" in run.stdout
    assert "quality gate: pass" in run.stdout, "on the local stack the quality gate runs unless told not to"
    assert sum(status != 200 for status, _ in answers) > 0, "the faults were there"
    canary(rehearsal, "rollback")  # v1 live again for the next rehearsal


def test_a_candidate_that_hangs_mid_run_is_rolled_back_for_its_lost_traffic(rehearsal):
    run = None

    def hang_after_the_first_look():
        process = canary_in_background(rehearsal)
        _wait_for(lambda: (state := _state(rehearsal)) is not None and len(state.verdicts) >= 1)
        _faults(rehearsal, {"v2": {"hang": True}})
        nonlocal run
        run = process.communicate(timeout=120)
        return process.returncode

    try:
        answers, code = _under_load(rehearsal, hang_after_the_first_look)
    finally:
        _faults(rehearsal, {})
    stdout = run[0] if run else ""
    assert code == 3, stdout
    assert 504 in {status for status, _ in answers}, "the gateway timed the hung candidate's requests out"
    state = _state(rehearsal)
    assert state.status is run_state.RunStatus.ROLLED_BACK and state.ended_by == "fail"
    # whichever check has the evidence first (the 5xx test on the gateway's timeouts, or the traffic
    # check on the model's missing answers), the reason names both the timeouts and the lost traffic
    reason = state.reason
    assert "requests lost (timeouts, a hang or crash?)" in reason and "gateway timeouts)" in reason, reason
    assert re.search(r"its model answered \d+ of the \d+ sent to it|where its weight sends it 20\.0%", reason), reason
    assert reason in stdout, "the run says how it ended"
    last = state.verdicts[-1]
    failed = {check.metric for check in last.checks if check.failed}
    assert failed and failed <= {"5xx rate", "answered share"}, "the run records the evidence with the verdict"
    assert {"5xx rate", "answered share"} <= {check.metric for check in last.checks}


def canary_in_background(api: LocalApi) -> subprocess.Popen:
    """The hang rehearsal's run: the quality gate is off, this is about traffic."""
    return subprocess.Popen([CANARY, "--project-dir", str(api.project), "run", "v2", "--no-quality",
                             "--steps", "20,50", "--bake", "20s", "--interval", "2s"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
