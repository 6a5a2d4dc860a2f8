"""What each `canary` command does, with its collaborators passed in: the stack's backend (stack
file, lock, apply, metrics, predictions), the console, the cloud options, the clock. The command
line only parses and prints; tests drive these functions with real stack files and fake or
failing collaborators.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from canary import quality_gate, run_registry
from canary.backends import Backend
from canary.cloud import CloudOptions, Console
from canary.stacks import StackOps
from core import plans, rollout, run_state
from core import routing as routes
from core.analysis import Analysis, Verdict, analyse, judge, since
from core.config import StackConfig
from core.metrics import MetricsError, VariantStats
from core.quality import QualityVerdict
from core.run_state import EndedBy, RunState, RunStatus
from core.thresholds import AnalysisThresholds, QualityThresholds, with_overrides

BASELINE_WINDOW = 0.001  # seconds: the counts of the current period only, read when a step sets its weight
SERVED_RECHECK_SECONDS = 0.6  # the local gateway reads the stack file every quarter second
# what stops a run and rolls it back (SIGHUP: its terminal closed), where the platform has them
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# how `canary abort` and `canary promote --full` reach the process of a run (on its host)
ABORT_SIGNAL, PROMOTE_SIGNAL = getattr(signal, "SIGUSR1", None), getattr(signal, "SIGUSR2", None)

MSG_VERDICT_REFUSED = {
    Verdict.FAIL: "analysis is fail: the candidate is worse than live; `canary rollback` stops it, or pass --force "
                  "to promote it anyway",
    Verdict.INCONCLUSIVE: "analysis is inconclusive: too little evidence yet; wait for more traffic or pass --force"}
MSG_NOT_JUDGED = "dry run: the analysis was not computed ({error}); the promotion itself judges first"
MSG_QUALITY_CANNOT_RUN = "the quality gate cannot run: {error}"
MSG_QUALITY_REFUSED = "quality gate is {verdict} ({reasons}); pass --force to promote anyway"
MSG_QUALITY_OFF = ("note: no quality gate: the candidate's predictions are not compared with live's (on AWS each "
                   "question is an endpoint invocation); set routing.analysis.quality or pass --quality to judge them")
MSG_NOTHING_TO_RESUME = "no recorded run on stack {stack}; start one with `canary run VERSION`"
MSG_FLUSHED = "stage cache flushed: every answer from now on is {live}'s"
MSG_NOT_FLUSHED = ("warning: {error}; the previous live version's cached answers expire within {ttl} s, or flush the "
                   "stage cache now (console, or `aws apigateway flush-stage-cache`)")
MSG_SERVED_DRIFT = "warning: {where} routes {served}, not what {file} says ({expected}); {advice}"
MSG_SERVED_UNREAD = "note: what {where} routes was not read ({error}); the routing above is what {file} says"
MSG_ALREADY_PROMOTED = "the recorded run of {version} ended promoted; nothing to resume"
MSG_RESUME_OTHER = "the recorded run is of {recorded}, not {version}; pass no VERSION with --{flag}"
MSG_DURING_RUN = ("a run of {version} is in progress on stack {stack} ({where}); `canary abort` stops it and rolls "
                  "back, `canary promote --full` promotes now, `canary pause` holds its weight")
MSG_PAUSE_ASKED = ("asked the run of {version} ({where}) to {what}: it does at its next look (within {interval:g} s)")
MSG_REMOTE_ABORT = ("the candidate {version}'s traffic is stopped on the stage; the run on host {host} (process "
                    "{pid}) rolls it back at its next look")
MSG_REMOTE_PROMOTE = ("the run of {version} runs on host {host} (process {pid}): run `canary promote --full` there, "
                      "or `canary abort` from here")
MSG_REGISTRY_UNREAD = "warning: could not check for a run of this stack on another machine ({error})"
MSG_NOT_PUBLISHED = "warning: the run's record could not be shared with the stack's other operators ({error})"
MSG_RESUME_ENDED = ("the recorded run of {version} ended {ended} ({reason}); `canary run --retry` runs it again "
                    "from the start")
MSG_RETRY_NOTHING = "no ended run on stack {stack} to retry; start one with `canary run VERSION`"
MSG_RETRY_INTERRUPTED = ("the recorded run of {version} was interrupted ({how}), not judged: `canary run --resume` "
                         "continues it from the step it reached")
MSG_RETRYING = "the last run of {version} ended {ended}: {reason}; running it again from the start"
MSG_NOT_STOPPED = "could not stop the candidate's traffic on the stage directly ({error}); the rollback stops it"
MSG_NO_RUN = "no run in progress on stack {stack}; `canary rollback` stops a canary"
MSG_RUN_GONE = "its process {pid} was gone"
MSG_SETTLED = "{what} by `canary {command}`; " + MSG_RUN_GONE
MSG_RUN_DID_NOT_END = ("the run of {version} (process {pid}) did not end within {seconds:g} s of `canary {command}`; "
                       "`canary status` shows where it stands")


class VerdictRefusal(plans.Refusal):
    """A promotion refused because of the analysis; the exit code tells the verdict."""

    def __init__(self, result: Analysis | QualityVerdict, message: str | None = None):
        super().__init__(message or MSG_VERDICT_REFUSED[result.verdict])
        self.result = result


class QualityRefusal(VerdictRefusal):
    """A promotion refused because of the candidate's predictions; the exit code tells the verdict."""

    def __init__(self, result: QualityVerdict):
        super().__init__(result, MSG_QUALITY_REFUSED.format(verdict=result.verdict.value,
                                                            reasons="; ".join(result.reasons)))


@dataclass(frozen=True)
class QualityAsk:
    """Whether a command judges predictions (None: when the stack has routing.analysis.quality), and
    the threshold flags it was given."""

    enabled: bool | None = None
    flags: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collaborators:
    backend: Backend
    console: Console
    options: CloudOptions = field(default_factory=CloudOptions)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @property
    def stack(self) -> StackOps:
        return self.backend.stack

    def say(self, line: str) -> None:
        self.console.say(line)


@dataclass(frozen=True)
class Outcome:
    """A planned change, applied or not."""

    plan: plans.Plan
    applied: bool
    analysis: Analysis | None = None


def running_run(c: Collaborators) -> RunState | None:
    """The run in progress on this stack (recorded running, its process alive on this host)."""
    recorded = run_state.load(run_state.path_for(c.stack.path))
    if recorded is not None and recorded.status is RunStatus.RUNNING and run_state.process_alive(recorded.pid):
        return recorded
    return None


def refuse_during_run(c: Collaborators, dry_run: bool = False) -> None:
    """A manual change while a run moves the traffic would fight it, and the run's record would no
    longer tell the truth: refused, naming the commands that act through the run. A cloud stack's
    run is seen from every machine (canary.run_registry); a dry run, which changes nothing, is checked
    against this machine's record only."""
    found = running_run(c)
    if found is not None:
        raise plans.Refusal(MSG_DURING_RUN.format(version=found.version, stack=c.stack.name, where=(
            f"process {found.pid}, step {found.step + 1}/{len(found.weights)} at {found.weight:g} %")))
    held = None if dry_run else elsewhere(c)
    if held is not None:
        raise plans.Refusal(MSG_DURING_RUN.format(version=held.version, stack=c.stack.name, where=held.describe()))


def elsewhere(c: Collaborators) -> run_registry.Held | None:
    """A run in progress on this stack from another machine (or another process than this one)."""
    try:
        held = c.backend.registry(c.stack.read().config).holder()
    except MetricsError as error:  # a manual command still goes ahead; a run cannot (it takes the lock)
        c.say(MSG_REGISTRY_UNREAD.format(error=error))
        return None
    if held is None or not held.running(c.clock()):
        return None
    if held.host == run_registry.this_host() and (held.pid == os.getpid() or not run_state.process_alive(held.pid)):
        return None  # this process, or a run of this machine that is gone (its local record tells)
    return held


def settle_record(c: Collaborators, version: str, status: RunStatus, command: str) -> None:
    """After a manual promote or rollback, a run recorded as running whose process is gone ends in
    the record as it ended in the stack, so `status` and the dashboard tell the truth."""
    path = run_state.path_for(c.stack.path)
    recorded = run_state.load(path)
    if recorded is None or recorded.status is not RunStatus.RUNNING or recorded.version != version:
        return
    what = "promoted" if status is RunStatus.PROMOTED else "rolled back"
    recorded.status, recorded.phase = status, run_state.Phase.DONE
    recorded.ended_by = EndedBy.PROMOTED if status is RunStatus.PROMOTED else EndedBy.ABORTED
    recorded.reason, recorded.updated_at = MSG_SETTLED.format(what=what, command=command, pid=recorded.pid), c.clock()
    run_state.save(path, recorded)


@contextlib.contextmanager
def adding_hint(c: Collaborators) -> Iterator[None]:
    """A refusal for a version the stack does not list says how to add one where the stack runs."""
    try:
        yield
    except plans.UnknownVersion as unknown:
        raise plans.Refusal(f"{unknown}; {c.backend.add_version}") from None


def change(c: Collaborators, decide: Callable[[StackConfig], plans.Change], dry_run: bool,
           show: Callable[[Outcome], None] = lambda outcome: None) -> Outcome:
    """Read, plan and write under the stack file's lock; ``show`` sees the change before it applies.

    A dry run only reads (writes are atomic, so a read is always whole) and takes no lock."""
    with contextlib.nullcontext() if dry_run else c.stack.locked():
        document = c.stack.read()
        with adding_hint(c):
            decided = decide(document.config)
        planned = plans.written(document, decided)
        show(Outcome(planned, applied=False))
        if dry_run:
            c.stack.preview(planned, c.console)
            return Outcome(planned, applied=False)
        c.stack.apply(planned, c.options, c.console)
        flush_after_flip(c, planned)
        return Outcome(planned, applied=True)


def flush_after_flip(c: Collaborators, planned: plans.Plan) -> None:
    """A promotion or rollback changes the live version, and the stage cache (``api.cache``) holds
    the previous one's answers: the deployed stage's cache is flushed (the local stage empties its
    own). A failed flush is said, not fatal: the flip is done, and the old answers expire with the TTL."""
    after = planned.after
    if after.api.cache is None or planned.before.routing.live == after.routing.live:
        return
    try:
        flushed = c.backend.traffic(after).flush_cache()
    except MetricsError as error:
        c.say(MSG_NOT_FLUSHED.format(error=error, ttl=after.api.cache.ttl_seconds))
        return
    if flushed:
        c.say(MSG_FLUSHED.format(live=after.routing.live))


def start(c: Collaborators, version: str, percent: float, sticky: bool, dry_run: bool,
          show: Callable[[Outcome], None] = lambda o: None) -> Outcome:
    refuse_during_run(c, dry_run)
    return change(c, lambda config: plans.start(config, version, percent, sticky), dry_run, show)


def set_percent(c: Collaborators, percent: float, dry_run: bool,
                show: Callable[[Outcome], None] = lambda o: None) -> Outcome:
    refuse_during_run(c, dry_run)
    return move_share(c, percent, dry_run, show)


def move_share(c: Collaborators, percent: float, dry_run: bool,
               show: Callable[[Outcome], None] = lambda o: None) -> Outcome:
    """The canary's share moved on the stage directly (one UpdateStage on AWS: seconds, where a
    `pulumi up` takes minutes), then recorded in the stack file, whose share Pulumi leaves alone
    (canary.traffic). A sticky canary's share is a stage variable: its stack is updated instead."""
    with contextlib.nullcontext() if dry_run else c.stack.locked():
        document = c.stack.read()
        planned = plans.written(document, plans.set_percent(document.config, percent))
        show(Outcome(planned, applied=False))
        if dry_run:
            return Outcome(planned, applied=False)
        canary = document.config.routing.canary
        assert canary is not None, "plans.set_percent refuses a stack without a canary"
        if c.backend.traffic(document.config).set_share(canary, percent):
            c.stack.record(planned)
        else:
            c.stack.apply(planned, c.options, c.console)
        return Outcome(planned, applied=True)


def rollback(c: Collaborators, dry_run: bool, show: Callable[[Outcome], None] = lambda o: None) -> Outcome:
    refuse_during_run(c, dry_run)
    canary = c.stack.read().config.routing.canary
    outcome = change(c, plans.rollback, dry_run, show)
    if outcome.applied and canary is not None:
        settle_record(c, canary.version, RunStatus.ROLLED_BACK, "rollback")
    return outcome


def retire(c: Collaborators, version: str, dry_run: bool,
           show: Callable[[Outcome], None] = lambda o: None) -> Outcome:
    refuse_during_run(c, dry_run)
    return change(c, lambda config: plans.retire(config, version), dry_run, show)


def signal_run(c: Collaborators, command: str, number: int | None, timeout: float) -> RunState | None:
    """Ask the run in progress to end (``number``: its signal) and wait until its record says it
    ended; None when no process of a run is alive (the caller settles the record itself)."""
    path = run_state.path_for(c.stack.path)
    recorded = run_state.load(path)
    if recorded is None or recorded.status is not RunStatus.RUNNING:
        raise plans.Refusal(MSG_NO_RUN.format(stack=c.stack.name))
    if number is None or not run_state.process_alive(recorded.pid):
        return None
    os.kill(recorded.pid, number)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = run_state.load(path)
        if current is not None and current.status is not RunStatus.RUNNING:
            return current
        time.sleep(0.05)
    raise plans.Refusal(MSG_RUN_DID_NOT_END.format(version=recorded.version, pid=recorded.pid, seconds=timeout,
                                                   command=command))


@dataclass(frozen=True)
class RunEnd:
    """What `abort` or `promote --full` left: the run's record (or, for a run on another machine,
    what every operator sees of it) and one line saying so."""

    document: dict[str, Any]
    text: str
    rollback_failed: bool = False

    @classmethod
    def of(cls, state: RunState) -> RunEnd:
        return cls(state.to_json(), f"run of {state.version}: {state.status.value} ({state.reason})",
                   state.status is RunStatus.ROLLBACK_FAILED)


def pause(c: Collaborators, resume: bool = False) -> str:
    """Ask the run in progress to hold its weight (the bake's clock stops, analyses go on), or with
    ``resume`` to go on; the run applies it at its next look."""
    config = c.stack.read().config
    here, held = running_run(c), elsewhere(c)
    if here is None and held is None:
        raise plans.Refusal(MSG_NO_RUN.format(stack=c.stack.name))
    who = "" if resume else f"{os.environ.get('USER', 'someone')}@{run_registry.this_host()}"
    c.backend.registry(config).request_pause(who)
    where = held.describe() if held is not None else f"process {here.pid}" if here is not None else ""
    version = held.version if held is not None else here.version if here is not None else ""
    interval = here.interval_seconds if here is not None else 30.0
    return MSG_PAUSE_ASKED.format(version=version, where=where, what="go on" if resume else "hold its weight",
                                  interval=interval)


def abort(c: Collaborators, timeout: float) -> RunEnd:
    """Stop the run in progress and roll its candidate back. A run on another machine: its
    candidate's traffic is stopped on the stage from here, and the run rolls back at its next look.
    A run whose process is gone (`kill -9`, a lost machine) is rolled back here and its record
    settled."""
    held = elsewhere(c)
    if held is not None:
        return _abort_elsewhere(c, held)
    return RunEnd.of(_abort_here(c, timeout))


def _abort_elsewhere(c: Collaborators, held: run_registry.Held) -> RunEnd:
    config = c.stack.read().config
    canary = config.routing.canary
    if canary is not None and canary.version == held.version:
        c.backend.traffic(config).stop(canary)
    c.backend.registry(config).request_abort(f"{os.environ.get('USER', 'someone')}@{run_registry.this_host()}")
    text = MSG_REMOTE_ABORT.format(version=held.version, host=held.host, pid=held.pid)
    return RunEnd({"abortRequested": True, "run": dataclasses.asdict(held)}, text)


def _abort_here(c: Collaborators, timeout: float) -> RunState:
    def roll_back(recorded: RunState) -> RunStatus:
        stop_canary(c, recorded.version)
        return RunStatus.ROLLED_BACK

    return _end_here(c, "abort", ABORT_SIGNAL, timeout, roll_back)


def _end_here(c: Collaborators, command: str, number: int | None, timeout: float,
              finish: Callable[[RunState], RunStatus]) -> RunState:
    """End the run of this machine: its process is signalled and awaited; a run whose process is
    gone is finished here by ``finish`` (which says how it ended) and its record settled."""
    ended = signal_run(c, command, number, timeout)
    if ended is not None:
        return ended
    path = run_state.path_for(c.stack.path)
    recorded = run_state.load(path)
    assert recorded is not None, "signal_run refused a missing record"
    settle_record(c, recorded.version, finish(recorded), command)
    settled = run_state.load(path)
    assert settled is not None
    return settled


def promote_full(c: Collaborators, timeout: float, show: Callable[[Outcome], None] = lambda o: None) -> RunEnd:
    """Finish the run in progress now: its candidate is promoted, the steps left skipped. A run whose
    process is gone is promoted here (as `promote --force` would) and its record settled."""
    held = elsewhere(c)
    if held is not None:
        raise plans.Refusal(MSG_REMOTE_PROMOTE.format(version=held.version, host=held.host, pid=held.pid))
    return RunEnd.of(_promote_here(c, timeout, show))


def _promote_here(c: Collaborators, timeout: float, show: Callable[[Outcome], None]) -> RunState:
    def promote_now(recorded: RunState) -> RunStatus:
        canary = c.stack.read().config.routing.canary
        if canary is not None and canary.version == recorded.version:
            change(c, plans.promote, dry_run=False, show=show)
        live = c.stack.read().config.routing.live == recorded.version
        return RunStatus.PROMOTED if live else RunStatus.ROLLED_BACK

    return _end_here(c, "promote --full", PROMOTE_SIGNAL, timeout, promote_now)


def judge_canary(c: Collaborators, config: StackConfig, thresholds: AnalysisThresholds, window: float) -> Analysis:
    assert config.routing.canary is not None
    return analyse(c.backend.metrics(config), config.endpoint.name, config.routing.live,
                   config.routing.canary.version, window, thresholds)


def promote(c: Collaborators, flags: dict[str, Any], window: float, force: bool, dry_run: bool,
            show: Callable[[Outcome], None] = lambda o: None, quality: QualityAsk = QualityAsk()) -> Outcome:
    """Promote when the analysis passes (or ``force``); thresholds: the stack's, then ``flags``.

    With a quality gate (``routing.analysis.quality`` or ``--quality``) the candidate's predictions
    must pass too."""
    judged: list[Analysis] = []

    def decide(config: StackConfig) -> plans.Change:
        if not force and config.routing.canary is not None:
            try:
                result = judge_canary(c, config, thresholds_of(config, flags), window)
            except MetricsError as error:
                if not dry_run:
                    raise
                c.say(MSG_NOT_JUDGED.format(error=error))  # the change is shown; a real promote judges first
                return plans.promote(config)
            judged.append(result)
            c.say(f"analysis: {result.verdict.value} ({'; '.join(result.reasons)})")
            if result.verdict is not Verdict.PASS:
                raise VerdictRefusal(result)
            thresholds = quality_thresholds_of(c, config, quality)
            if thresholds is not None:
                judge_quality(c, config, config.routing.canary.version, thresholds)
        return plans.promote(config)

    refuse_during_run(c, dry_run)
    canary = c.stack.read().config.routing.canary
    outcome = change(c, decide, dry_run, show)
    if outcome.applied and canary is not None:
        settle_record(c, canary.version, RunStatus.PROMOTED, "promote")
    return Outcome(outcome.plan, outcome.applied, judged[0] if judged else None)


def thresholds_of(config: StackConfig, flags: dict[str, Any]) -> AnalysisThresholds:
    return with_overrides(config.routing.analysis, flags)


def quality_thresholds_of(c: Collaborators, config: StackConfig, ask: QualityAsk) -> QualityThresholds | None:
    """The quality gate's thresholds, or None without a gate: asked for (--quality/--no-quality),
    else configured (routing.analysis.quality), else the backend's default (on where it is free)."""
    configured = config.routing.quality is not None or c.backend.quality_by_default
    if not (ask.enabled if ask.enabled is not None else configured):
        if ask.enabled is None:
            c.say(MSG_QUALITY_OFF)
        return None
    return with_overrides(config.routing.quality or QualityThresholds(), ask.flags)


def gate_target(c: Collaborators, config: StackConfig) -> quality_gate.Target:
    return quality_gate.Target(c.stack.name, c.backend.predictions(config), c.backend.target(config))


def judge_quality(c: Collaborators, config: StackConfig, candidate: str,
                  thresholds: QualityThresholds) -> QualityVerdict:
    """The quality gate against live; refuses unless it passes."""
    request = quality_gate.gate_request(config, candidate, thresholds)
    try:
        result = quality_gate.run(config, gate_target(c, config), c.stack.path.parent, request, c.say).result
    except quality_gate.GateError as error:
        raise plans.Refusal(MSG_QUALITY_CANNOT_RUN.format(error=error)) from None
    c.say(f"quality gate: {result.verdict.value} ({'; '.join(result.reasons)})")
    if result.verdict is not Verdict.PASS:
        raise QualityRefusal(result)
    return result


@dataclass(frozen=True)
class Status:
    config: StackConfig
    thresholds: AnalysisThresholds
    traffic: dict[str, VariantStats]  # what each version served in the window (empty: no metrics)
    analysis: Analysis | None
    run: RunState | None
    run_alive: bool  # the process that recorded a running run still runs
    window: float
    metrics_error: str | None = None  # the routing and the run still show when metrics cannot be read
    served_drift: str | None = None  # the running API routes otherwise than the stack file says (or was not read)
    elsewhere: run_registry.Held | None = None  # a run in progress from another machine (cloud stacks)


def status(c: Collaborators, flags: dict[str, Any], window: float, with_metrics: bool = True) -> Status:
    """Routing, what every version served in the window, the canary's verdict and the recorded run."""
    config = c.stack.read().config
    thresholds = thresholds_of(config, flags)
    traffic: dict[str, VariantStats] = {}
    result, problem, drift = None, None, None
    if with_metrics:
        try:
            source = c.backend.metrics(config)
            traffic = {name: source.variant_stats(config.endpoint.name, name, window) for name in config.model_names}
        except MetricsError as error:
            problem = str(error)
        else:
            drift = served_drift(c, config)
        if traffic and config.routing.canary is not None:
            result = judge(traffic[config.routing.live], traffic[config.routing.canary.version], thresholds)
    recorded = run_state.load(run_state.path_for(c.stack.path))
    alive = recorded is not None and run_state.process_alive(recorded.pid)
    return Status(config, thresholds, traffic, result, recorded, alive, window, problem, drift, elsewhere(c))


def served_drift(c: Collaborators, config: StackConfig) -> str | None:
    """Where the running API routes otherwise than the stack file: a local gateway that refused the
    file's last edit (a version with no server, say) keeps serving the previous routing; an API
    Gateway stage changed outside the stack serves what it was changed to, while Pulumi's state still
    says what the file says. A backend that cannot tell says None."""
    for attempt in range(2):  # the gateway may not have read the file's last edit yet
        try:
            served = c.backend.served(config)
        except MetricsError as error:  # the metrics were read: say what was not, rather than fail
            return MSG_SERVED_UNREAD.format(where=c.backend.drift[0], error=error, file=c.stack.path.name)
        if served is None or served.same_traffic(config.routing):
            return None
        if attempt == 0:
            c.sleep(SERVED_RECHECK_SECONDS)
    assert served is not None
    where, advice = c.backend.drift
    return MSG_SERVED_DRIFT.format(where=where, advice=advice, served=routes.describe(served), file=c.stack.path.name,
                                   expected=routes.describe(config.routing))


@dataclass(frozen=True)
class RunRequest:
    version: str | None
    weights: list[float]
    bake_seconds: float
    interval_seconds: float
    failure_limit: int
    window_seconds: float
    sticky: bool
    flags: dict[str, Any]
    resume: bool = False
    quality: QualityAsk = QualityAsk()
    retry: bool = False


def prepare_run(c: Collaborators, request: RunRequest) -> RunState:
    """The state a run starts from: a fresh schedule, or the recorded one for ``--resume``.

    Refuses what `start` would refuse (an unknown version, a running canary of another version),
    so a dry run of an impossible rollout fails like the rollout would. (A run on another machine
    is found when the run takes the stack: ``run``.)"""
    with adding_hint(c):
        return _prepared(c, request)


def _prepared(c: Collaborators, request: RunRequest) -> RunState:
    refuse_during_run(c, dry_run=True)
    recorded = run_state.load(run_state.path_for(c.stack.path))
    config = c.stack.read().config
    if request.resume:
        return _resumed(c, config, recorded, request.version)
    version = _retried(c, recorded, request.version) if request.retry else request.version
    assert version is not None
    canary = config.routing.canary
    if canary is None or canary.version != version:
        plans.start(config, version, request.weights[0], request.sticky)  # raises what start would refuse
    return RunState.planned(c.stack.name, version, list(request.weights), request.bake_seconds,
                            request.interval_seconds, request.failure_limit, request.window_seconds, request.sticky,
                            thresholds_of(config, request.flags), quality_thresholds_of(c, config, request.quality),
                            started_at=c.clock())


def _interrupted(recorded: RunState) -> bool:
    """Stopped before it was judged: by a signal, or its process vanished while it ran."""
    return recorded.status is RunStatus.RUNNING or recorded.ended_by in run_state.INTERRUPTIONS


def _recorded_for(c: Collaborators, recorded: RunState | None, version: str | None, flag: str,
                  nothing: str) -> RunState:
    """The recorded run `run --resume` or `--retry` (``flag``) acts on: there, of ``version`` if one
    is given, and not promoted."""
    if recorded is None:
        raise plans.Refusal(nothing.format(stack=c.stack.name))
    if version is not None and version != recorded.version:
        raise plans.Refusal(MSG_RESUME_OTHER.format(recorded=recorded.version, version=version, flag=flag))
    if recorded.status is RunStatus.PROMOTED:
        raise plans.Refusal(MSG_ALREADY_PROMOTED.format(version=recorded.version))
    return recorded


def _retried(c: Collaborators, recorded: RunState | None, version: str | None) -> str:
    """The version `run --retry` runs again, after saying how its last run ended."""
    recorded = _recorded_for(c, recorded, version, "retry", MSG_RETRY_NOTHING)
    if _interrupted(recorded):
        how = recorded.ended_by.value or MSG_RUN_GONE.format(pid=recorded.pid)
        raise plans.Refusal(MSG_RETRY_INTERRUPTED.format(version=recorded.version, how=how))
    c.say(MSG_RETRYING.format(version=recorded.version, ended=recorded.ended_by.value, reason=recorded.reason))
    return recorded.version


def _resumed(c: Collaborators, config: StackConfig, recorded: RunState | None, version: str | None) -> RunState:
    recorded = _recorded_for(c, recorded, version, "resume", MSG_NOTHING_TO_RESUME)
    if not _interrupted(recorded):
        raise plans.Refusal(MSG_RESUME_ENDED.format(version=recorded.version, ended=recorded.ended_by.value,
                                                    reason=recorded.reason))
    plans.check_version(config, recorded.version)
    recorded.position = recorded.resume_position()
    recorded.status, recorded.ended_by, recorded.reason, recorded.failures = (RunStatus.RUNNING, EndedBy.NOT_ENDED,
                                                                              "", 0)
    return recorded


def run(c: Collaborators, state: RunState) -> RunState:
    """Run the rollout to its end; on any error or signal the candidate is rolled back."""
    path = run_state.path_for(c.stack.path)
    state.pid = os.getpid()
    baseline: dict[str, VariantStats] = {}

    def counts_now(window: float) -> dict[str, VariantStats]:
        config = c.stack.read().config
        source = c.backend.metrics(config)
        return {role: source.variant_stats(config.endpoint.name, version, window)
                for role, version in (("live", config.routing.live), ("candidate", state.version))}

    def set_weight(weight: float) -> None:
        canary = c.stack.read().config.routing.canary
        if canary is not None and canary.version == state.version:
            move_share(c, weight, dry_run=False)
        else:
            change(c, lambda config: plans.start(config, state.version, weight, state.sticky), dry_run=False)
        baseline.clear()
        baseline.update(counts_now(BASELINE_WINDOW))

    def judge_now(window: float) -> Analysis:
        stats = counts_now(window)
        share = None if state.sticky else state.weight / 100.0  # sticky routes users, not requests
        return judge(since(stats["live"], baseline.get("live")), since(stats["candidate"], baseline.get("candidate")),
                     state.thresholds, share)

    def quality_now() -> QualityVerdict:
        assert state.quality is not None
        config = c.stack.read().config
        request = quality_gate.gate_request(config, state.version, state.quality)
        return quality_gate.run(config, gate_target(c, config), c.stack.path.parent, request, c.say).result

    def promote_now() -> None:
        change(c, plans.promote, dry_run=False)

    def stop_now() -> None:
        stop_canary(c, state.version)

    registry = c.backend.registry(c.stack.read().config)
    try:
        registry.acquire(state)  # a run that cannot hold the stack does not start (MetricsError says why)
    except run_registry.RegistryHeld as held:
        raise plans.Refusal(MSG_DURING_RUN.format(version=held.held.version, stack=c.stack.name,
                                                  where=held.held.describe())) from None

    def save(current: RunState) -> None:
        run_state.save(path, current)
        _shared(c, registry.publish, current)

    def judge_or_abort(window: float) -> Analysis:
        if registry.abort_requested():  # `canary abort` from another machine
            raise rollout.AbortRequested()
        return judge_now(window)

    actions = rollout.Actions(
        set_weight=set_weight, analyse=judge_or_abort, promote=promote_now, stop_canary=stop_now,
        save=save, say=c.say, clock=c.clock, sleep=c.sleep,
        quality=quality_now if state.quality is not None else None, paused=registry.pause_requested)
    final = state
    try:
        with signals_interrupt():
            final = rollout.execute(state, actions)
            return final
    finally:
        _shared(c, registry.release, final)


def _shared(c: Collaborators, publish: Callable[[RunState], None], state: RunState) -> None:
    """Share the run's record with the stack's other operators; a failure to is said, not fatal
    (the run's own record and the stack are what roll a candidate back)."""
    try:
        publish(state)
    except MetricsError as error:
        c.say(MSG_NOT_PUBLISHED.format(error=error))


def stop_canary(c: Collaborators, version: str) -> Outcome | None:
    """Roll back the canary of ``version`` if it is still running; never flips a promotion back.

    The candidate's traffic stops first, with one direct call to the stage (canary.traffic), then
    the rollback reconciles the stack file and the stack; if the direct call fails, the rollback
    alone still stops it."""
    with c.stack.locked():  # the lock is reentrant: `change` takes it again
        config = c.stack.read().config
        canary = config.routing.canary
        if canary is None or canary.version != version:
            return None
        try:
            c.backend.traffic(config).stop(canary)
        except MetricsError as error:
            c.say(MSG_NOT_STOPPED.format(error=error))
        return change(c, plans.rollback, dry_run=False)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise ``rollout.Interrupted``, `canary abort`'s signal
    ``rollout.AbortRequested`` and `promote --full`'s ``rollout.PromoteRequested``, once: later
    signals only say the run is already ending, so a second Ctrl-C cannot cut a rollback short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised: list[int] = []

    def handler(number: int, _frame: object) -> None:
        if raised:
            return
        raised.append(number)
        if number == ABORT_SIGNAL:
            raise rollout.AbortRequested()
        if number == PROMOTE_SIGNAL:
            raise rollout.PromoteRequested()
        raise rollout.Interrupted(signal.Signals(number).name)

    handled = [*SIGNALS, *(number for number in (ABORT_SIGNAL, PROMOTE_SIGNAL) if number is not None)]
    previous = {number: signal.signal(number, handler) for number in handled}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
