"""The service layer with real stack files and stand-in metrics: a run resumed from its recorded
step, a rollback that fails, and refusals before anything changes."""

from __future__ import annotations

import os
import shutil

import pytest

from canary import service, stacks
from canary.backends import CloudBackend, LocalBackend
from core import plans as plan
from core import routing as routes
from core import run_state, stack_file
from core.metrics import MetricsError, VariantStats
from core.run_state import RunStatus
from tests.canary_fakes import QuietConsole, StubMetrics
from tests.stacks import ROOT
from tests.test_canary_analysis import FakeClock

HEALTHY = VariantStats(500, 0, 0, 5.0)


class Metrics:
    """Healthy traffic growing with every read; fails every read after ``fail_after`` reads."""

    def __init__(self, fail_after: int | None = None):
        self.left = fail_after
        self.reads = 0

    def variant_stats(self, endpoint, variant, window_seconds):
        self.reads += 1
        if self.left is not None:
            self.left -= 1
            if self.left < 0:
                raise MetricsError("metrics endpoint down")
        return VariantStats(HEALTHY.requests * self.reads, 0, 0, HEALTHY.latency_p99_ms)


class RollbackFails(stacks.LocalStack):
    def apply(self, planned, options, console):
        if planned.command == "rollback":
            raise stacks.ApplyError("the stack file is read-only")
        super().apply(planned, options, console)


@pytest.fixture
def stack(tmp_path):
    shutil.copy(ROOT / "Pulumi.local.yaml", tmp_path)
    local = stacks.LocalStack("local", tmp_path)
    service.rollback(_collaborators(local, Metrics()), dry_run=False)  # start with no canary
    return local


def _collaborators(stack, metrics) -> service.Collaborators:
    clock = FakeClock()
    return service.Collaborators(StubMetrics(stack, metrics), QuietConsole(), clock=clock, sleep=clock.sleep)


# each bake of 4 s analysed every 1 s: a baseline, 3 measurements and the gate, 2 metric reads each
REQUEST = service.RunRequest("v2", [10, 50], 4.0, 1.0, 0, 60.0, False, {})


def test_a_run_stopped_by_an_error_resumes_from_its_step_and_promotes(stack):
    first = service.run(_collaborators(stack, Metrics(fail_after=2 * 7)),
                        service.prepare_run(_collaborators(stack, Metrics()), REQUEST))
    assert first.status is RunStatus.ROLLED_BACK and first.reason == "rolled back: metrics endpoint down"
    assert stack.read().config.routing.canary is None
    assert first.step == 1, "14 reads: baseline and 4 analyses in step 1, baseline and 1 analysis in step 2"
    reached = first.step
    healthy = _collaborators(stack, Metrics())
    resumed = service.prepare_run(healthy, service.RunRequest(None, [5], 1, 1, 0, 1, False, {}, resume=True))
    assert (resumed.step, resumed.weights, resumed.status) == (reached, [10, 50], RunStatus.RUNNING)
    assert resumed.steps[resumed.position].set_weight == 50, "the step starts again from setting its weight"
    final = service.run(healthy, resumed)
    assert final.status is RunStatus.PROMOTED
    assert stack.read().config.routing == routes.Routing("v2", previous="v1")
    assert run_state.load(run_state.path_for(stack.path)).status is RunStatus.PROMOTED


def test_a_rollback_that_fails_says_what_is_left_and_how_to_fix_it(stack):
    broken = RollbackFails("local", stack.path.parent)
    final = service.run(_collaborators(broken, Metrics(fail_after=2)),
                        service.prepare_run(_collaborators(broken, Metrics()), REQUEST))
    assert final.status is RunStatus.ROLLBACK_FAILED
    assert final.reason == ("rolled back: metrics endpoint down; rolling back failed (the stack file is read-only): "
                            "v2 may still receive 10 % of traffic on stack local; run `canary --stack local "
                            "rollback` to stop it")
    assert stack.read().config.routing.canary.version == "v2", "what the message says is true"


def test_a_second_run_is_refused_while_the_first_one_runs(stack):
    state = service.prepare_run(_collaborators(stack, Metrics()), REQUEST)
    state.pid = os.getppid()  # a live process other than this one
    run_state.save(run_state.path_for(stack.path), state)
    with pytest.raises(plan.Refusal, match=f"a run of v2 is in progress on stack local \\(process {os.getppid()}\\)"):
        service.prepare_run(_collaborators(stack, Metrics()), REQUEST)


def test_an_analysis_that_is_not_a_pass_refuses_the_promotion_and_changes_nothing(stack):
    c = _collaborators(stack, Metrics())
    service.start(c, "v2", 10, False, dry_run=False)
    before = stack.path.read_text()
    with pytest.raises(service.VerdictRefusal) as refused:
        service.promote(c, {"min_requests": 100_000}, 60.0, force=False, dry_run=False)
    assert refused.value.result.verdict.value == "inconclusive"
    assert stack.path.read_text() == before


class Stale:
    """A candidate whose failures all happened before the run set its weight."""

    def variant_stats(self, endpoint, variant, window_seconds):
        return VariantStats(300, 0, 300 if variant == "v2" else 0, 5.0)


def test_failures_counted_before_the_step_are_not_held_against_the_candidate(stack):
    final = service.run(_collaborators(stack, Stale()), service.prepare_run(_collaborators(stack, Stale()), REQUEST))
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == "inconclusive"
    assert {v.verdict for v in final.verdicts} == {"inconclusive"}, "no new requests: nothing to judge, no fail"


@pytest.mark.parametrize(("backend", "ask", "gate", "note"), [
    ("local", service.QualityAsk(), True, False),  # free on the local runtime: on unless told not to
    ("local", service.QualityAsk(enabled=False), False, False),
    ("cloud", service.QualityAsk(), False, True),  # each question is a paid invocation: off, and said loudly
    ("cloud", service.QualityAsk(enabled=True), True, False),
])
def test_the_quality_gate_is_on_where_it_costs_nothing(tmp_path, backend, ask, gate, note):
    stack = "local" if backend == "local" else "prod"
    config = stack_file.load(stack, ROOT)
    chosen = (LocalBackend(stacks.LocalStack(stack, tmp_path)) if backend == "local"
              else CloudBackend(stacks.PulumiStack(stack, tmp_path)))
    console = QuietConsole()
    thresholds = service.quality_thresholds_of(service.Collaborators(chosen, console), config, ask)
    assert (thresholds is not None) is gate
    assert (service.MSG_QUALITY_OFF in console.said) is note
