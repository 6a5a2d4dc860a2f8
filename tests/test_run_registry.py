"""A cloud stack's run held in SSM Parameter Store (canary/run_registry.py), under moto: one run
at a time for every operator, a silent run taken over, an abort asked of the run from elsewhere.

PutParameter with Overwrite=false fails with ParameterAlreadyExists when the parameter exists (SSM
API reference, "PutParameter"); moto implements that, so the lock's exclusion is checked here."""

from __future__ import annotations

import json

import boto3
import pytest

from canary.run_registry import STALE_SECONDS, RegistryHeld, SsmRegistry
from core.run_state import RunState, RunStatus
from core.thresholds import AnalysisThresholds

pytestmark = pytest.mark.usefixtures("moto_ssm")


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _state(clock: Clock, pid: int = 4242) -> RunState:
    state = RunState.planned("prod", "v2", [10, 50], 300.0, 30.0, 0, 600.0, False, AnalysisThresholds(),
                             started_at=clock.now)
    state.pid, state.updated_at = pid, clock.now
    return state


def _registry(clock: Clock, host: str) -> SsmRegistry:
    return SsmRegistry(boto3.client("ssm", region_name="eu-west-1"), "ratings-prod", clock=clock, host=host)


def test_one_run_at_a_time_for_every_operator():
    clock = Clock()
    ci, laptop = _registry(clock, "ci"), _registry(clock, "laptop")
    ci.acquire(_state(clock))
    with pytest.raises(RegistryHeld) as held:
        laptop.acquire(_state(clock, pid=7))
    assert held.value.held.describe() == "host ci, process 4242, step 1/2 at 10 %"
    finished = _state(clock)
    finished.status = RunStatus.PROMOTED
    ci.release(finished)
    laptop.acquire(_state(clock, pid=7))  # free again once the run ended
    assert laptop.holder().host == "laptop"


def test_a_run_silent_past_the_limit_is_taken_over():
    """Its machine went away mid-run: the record stops changing, and after STALE_SECONDS the next
    operator may hold the stack (after `canary abort` has rolled the candidate back)."""
    clock = Clock()
    gone, next_one = _registry(clock, "gone"), _registry(clock, "next")
    gone.acquire(_state(clock))
    clock.now += STALE_SECONDS - 1
    with pytest.raises(RegistryHeld):
        next_one.acquire(_state(clock, pid=9))
    clock.now += 2
    next_one.acquire(_state(clock, pid=9))
    assert next_one.holder().host == "next"


def test_a_lock_taken_after_the_last_record_is_a_run_starting_now():
    """Two operators start at once: one takes the lock before writing its record; the other,
    reading the old (ended) record, must not take the lock over."""
    clock = Clock()
    first, second = _registry(clock, "first"), _registry(clock, "second")
    ended = _state(clock)
    ended.status = RunStatus.ROLLED_BACK
    first.publish(ended)  # an earlier run's record, ended
    clock.now += 5
    taken = json.dumps({"host": "first", "pid": 1, "at": clock.now})
    first.client.put_parameter(Name=first.lock, Value=taken, Type="String",
                               Overwrite=False)  # `first` took the lock, its record not yet written
    with pytest.raises(RegistryHeld):
        second.acquire(_state(clock, pid=2))


def test_an_abort_asked_from_elsewhere_reaches_the_run_and_survives_its_next_publish():
    clock = Clock()
    ci, laptop = _registry(clock, "ci"), _registry(clock, "laptop")
    state = _state(clock)
    ci.acquire(state)
    assert ci.abort_requested() == ""
    laptop.request_abort("ana@laptop")
    ci.publish(state)  # the run's next save keeps the request
    assert ci.abort_requested() == "ana@laptop"
