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
    with pytest.raises(plan.Refusal, match=f"a run of v2 is in progress on stack local \\(process {os.getppid()}, "
                                           "step 1/2 at 10 %\\); `canary abort` stops it"):
        service.prepare_run(_collaborators(stack, Metrics()), REQUEST)


def _ended(stack, ended_by: run_state.EndedBy, status: RunStatus = RunStatus.ROLLED_BACK) -> None:
    state = service.prepare_run(_collaborators(stack, Metrics()), REQUEST)
    state.status, state.ended_by, state.reason = status, ended_by, f"rolled back: {ended_by.value}"
    run_state.save(run_state.path_for(stack.path), state)


@pytest.mark.parametrize(("ended_by", "resumes"), [
    (run_state.EndedBy.SIGHUP, True), (run_state.EndedBy.SIGINT, True), (run_state.EndedBy.ERROR, True),
    (run_state.EndedBy.FAIL, False), (run_state.EndedBy.INCONCLUSIVE, False), (run_state.EndedBy.ABORTED, False)])
def test_resume_continues_an_interrupted_run_and_retry_runs_a_judged_one_again(stack, ended_by, resumes):
    """A signal or an error interrupted the run before it was judged: --resume continues it. A
    verdict or `canary abort` ended it: --resume refuses and names --retry, which says what ended it."""
    _ended(stack, ended_by)
    c = _collaborators(stack, Metrics())
    resume = service.RunRequest(None, [5], 1, 1, 0, 1, False, {}, resume=True)
    retry = service.RunRequest(None, [10, 50], 4.0, 1.0, 0, 60.0, False, {}, retry=True)
    if resumes:
        assert service.prepare_run(c, resume).version == "v2"
        with pytest.raises(plan.Refusal, match="`canary run --resume` continues it"):
            service.prepare_run(c, retry)
    else:
        with pytest.raises(plan.Refusal, match=f"ended {ended_by.value} .*`canary run --retry` runs it again"):
            service.prepare_run(c, resume)
        said: list[str] = []
        c.console.say = said.append
        assert service.prepare_run(c, retry).position == 0
        assert said[0] == (f"the last run of v2 ended {ended_by.value}: rolled back: {ended_by.value}; running it "
                           "again from the start")


def test_a_manual_rollback_settles_the_record_of_a_run_whose_process_is_gone(stack):
    """kill -9 left the record running; `canary rollback` ends the canary and the record with it."""
    c = _collaborators(stack, Metrics())
    state = service.prepare_run(c, REQUEST)
    service.start(c, "v2", 10, False, dry_run=False)
    state.pid = 2**22 + 7  # no such process
    run_state.save(run_state.path_for(stack.path), state)
    service.rollback(c, dry_run=False)
    settled = run_state.load(run_state.path_for(stack.path))
    assert (settled.status, settled.ended_by) == (RunStatus.ROLLED_BACK, run_state.EndedBy.ABORTED)
    assert settled.reason == f"rolled back by `canary rollback`; its process {state.pid} was gone"


@pytest.mark.parametrize(("command", "live", "status"), [
    (lambda c: service.abort(c, 5.0), "v1", RunStatus.ROLLED_BACK),
    (lambda c: service.promote_full(c, 5.0), "v2", RunStatus.PROMOTED)])
def test_abort_and_promote_full_finish_a_run_whose_process_is_gone(stack, command, live, status):
    c = _collaborators(stack, Metrics())
    state = service.prepare_run(c, REQUEST)
    service.start(c, "v2", 10, False, dry_run=False)
    state.pid = 2**22 + 7
    run_state.save(run_state.path_for(stack.path), state)
    ended = command(c)
    assert ended.document["status"] == status.value and stack.read().config.routing.live == live
    assert stack.read().config.routing.canary is None


def test_abort_without_a_run_is_refused(stack):
    with pytest.raises(plan.Refusal, match="no run in progress on stack local; `canary rollback` stops a canary"):
        service.abort(_collaborators(stack, Metrics()), 5.0)


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
