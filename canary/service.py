"""What each `canary` command does, with its collaborators passed in: the stack (file, lock,
apply), the metrics source and the cloud options. The command line only parses and prints;
tests drive these functions with real stack files and fake or failing collaborators.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from canary import plan, quality_gate, rollout, run_state
from canary.analysis import (
    Analysis,
    MetricsSource,
    Thresholds,
    VariantStats,
    Verdict,
    analyse,
    judge,
    since,
    with_overrides,
)
from canary.cloud import CloudOptions
from canary.metrics_sources import MetricsError
from canary.run_state import RunState, RunStatus
from canary.stacks import StackOps
from components import config as stack_config
from components.config import StackConfig
from components.config_routing import QualityThresholds

BASELINE_WINDOW = 0.001  # seconds: the counts of the current period only, read when a step sets its weight

MSG_VERDICT_REFUSED = "analysis is {verdict}; wait for more traffic or pass --force"
MSG_QUALITY_CANNOT_RUN = "the quality gate cannot run: {error}"
MSG_QUALITY_REFUSED = "quality gate is {verdict} ({reasons}); pass --force to promote anyway"
MSG_NOTHING_TO_RESUME = "no recorded run on stack {stack}; start one with `canary run VERSION`"
MSG_SERVED_DRIFT = ("warning: the running local API routes {served}, not what {file} says ({expected}); it "
                    "refused the file's last edit (its output says why), or restart `ratings local up`")
SERVED_RECHECK_SECONDS = 0.6
MSG_ALREADY_PROMOTED = "the recorded run of {version} ended promoted; nothing to resume"
MSG_RUN_IN_PROGRESS = "a run of {version} is in progress on stack {stack} (process {pid}); stop it first"
MSG_RESUME_OTHER = "the recorded run is of {recorded}, not {version}; pass no VERSION with --resume"


class VerdictRefusal(plan.Refusal):
    """A promotion refused because of the analysis; the exit code tells the verdict."""

    def __init__(self, result: Analysis):
        super().__init__(MSG_VERDICT_REFUSED.format(verdict=result.verdict.value))
        self.result = result


class QualityRefusal(VerdictRefusal):
    """A promotion refused because of the candidate's predictions; the exit code tells the verdict."""

    def __init__(self, result):
        plan.Refusal.__init__(self, MSG_QUALITY_REFUSED.format(verdict=result.verdict.value,
                                                               reasons="; ".join(result.reasons)))
        self.result = result


@dataclass(frozen=True)
class QualityAsk:
    """Whether a command judges predictions (None: when the stack has routing.analysis.quality), and
    the threshold flags it was given."""

    enabled: bool | None = None
    flags: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collaborators:
    stack: StackOps
    metrics_for: Callable[[StackConfig], MetricsSource]
    options: CloudOptions = field(default_factory=CloudOptions)
    say: Callable[[str], None] = print
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Outcome:
    """A planned change, applied or not, with the stack file's diff."""

    plan: plan.Plan
    diff: list[str]
    applied: bool
    analysis: Analysis | None = None


def read(stack: StackOps) -> tuple[dict[str, Any], StackConfig]:
    values = stack.read()
    return values, stack_config.parse(values)


def change(c: Collaborators, decide: Callable[[StackConfig], plan.Change], dry_run: bool,
           show: Callable[[Outcome], None] = lambda outcome: None) -> Outcome:
    """Read, plan and write under the stack file's lock; ``show`` sees the change before it applies.

    A dry run only reads (writes are atomic, so a read is always whole) and takes no lock."""
    with contextlib.nullcontext() if dry_run else c.stack.locked():
        values, config = read(c.stack)
        planned = plan.written(values, config, decide(config))
        outcome = Outcome(planned, c.stack.diff(planned.after), applied=False)
        show(outcome)
        if dry_run:
            return outcome
        c.stack.apply(planned, c.options)
        return Outcome(planned, outcome.diff, applied=True)


def start(c: Collaborators, version: str, percent: float, sticky: bool, dry_run: bool, show=lambda o: None):
    return change(c, lambda config: plan.start(config, version, percent, sticky), dry_run, show)


def set_percent(c: Collaborators, percent: float, dry_run: bool, show=lambda o: None) -> Outcome:
    return change(c, lambda config: plan.set_percent(config, percent), dry_run, show)


def rollback(c: Collaborators, dry_run: bool, show=lambda o: None) -> Outcome:
    return change(c, plan.rollback, dry_run, show)


def retire(c: Collaborators, version: str, dry_run: bool, show=lambda o: None) -> Outcome:
    return change(c, lambda config: plan.retire(config, version), dry_run, show)


def judge_canary(c: Collaborators, config: StackConfig, thresholds: Thresholds, window: float) -> Analysis:
    return analyse(c.metrics_for(config), config.endpoint.name, config.routing.live,
                   config.routing.canary.version, window, thresholds)


def promote(c: Collaborators, flags: dict[str, Any], window: float, force: bool, dry_run: bool,
            show=lambda o: None, quality: QualityAsk = QualityAsk()) -> Outcome:
    """Promote when the analysis passes (or ``force``); thresholds: the stack's, then ``flags``.

    With a quality gate (``routing.analysis.quality`` or ``--quality``) the candidate's predictions
    must pass too."""
    judged: list[Analysis] = []

    def decide(config: StackConfig) -> plan.Change:
        if not force and config.routing.canary is not None:
            result = judge_canary(c, config, thresholds_of(config, flags), window)
            judged.append(result)
            c.say(f"analysis: {result.verdict.value} ({'; '.join(result.reasons)})")
            if result.verdict is not Verdict.PASS:
                raise VerdictRefusal(result)
            thresholds = quality_thresholds_of(config, quality)
            if thresholds is not None:
                judge_quality(c, config, config.routing.canary.version, thresholds)
        return plan.promote(config)

    outcome = change(c, decide, dry_run, show)
    return Outcome(outcome.plan, outcome.diff, outcome.applied, judged[0] if judged else None)


def thresholds_of(config: StackConfig, flags: dict[str, Any]) -> Thresholds:
    return with_overrides(config.routing.analysis, **flags)


def quality_thresholds_of(config: StackConfig, ask: QualityAsk) -> QualityThresholds | None:
    if not (ask.enabled if ask.enabled is not None else config.routing.quality is not None):
        return None
    return replace(config.routing.quality or QualityThresholds(),
                   **{name: value for name, value in ask.flags.items() if value is not None})


def judge_quality(c: Collaborators, config: StackConfig, candidate: str, thresholds: QualityThresholds):
    """The quality gate against live; refuses unless it passes."""
    request = quality_gate.gate_request(config, candidate, thresholds)
    try:
        result = quality_gate.run(config, c.stack.name, c.stack.path.parent, request, say=c.say).result
    except quality_gate.GateError as error:
        raise plan.Refusal(MSG_QUALITY_CANNOT_RUN.format(error=error)) from None
    c.say(f"quality gate: {result.verdict.value} ({'; '.join(result.reasons)})")
    if result.verdict is not Verdict.PASS:
        raise QualityRefusal(result)
    return result


@dataclass(frozen=True)
class Status:
    config: StackConfig
    thresholds: Thresholds
    traffic: dict[str, VariantStats]  # what each version served in the window (None: no metrics asked)
    analysis: Analysis | None
    run: RunState | None
    window: float
    metrics_error: str | None = None  # the routing and the run still show when metrics cannot be read
    served_drift: str | None = None  # the running local API routes otherwise than the stack file says


def status(c: Collaborators, flags: dict[str, Any], window: float, with_metrics: bool = True) -> Status:
    """Routing, what every version served in the window, the canary's verdict and the recorded run."""
    _, config = read(c.stack)
    thresholds = thresholds_of(config, flags)
    traffic: dict[str, VariantStats] = {}
    result, problem, drift = None, None, None
    if with_metrics:
        try:
            source = c.metrics_for(config)
            traffic = {name: source.variant_stats(config.endpoint.name, name, window) for name in config.model_names}
            drift = served_drift(source, config, c.stack.path.name)
        except MetricsError as error:
            problem = str(error)
        if traffic and config.routing.canary is not None:
            result = judge(traffic[config.routing.live], traffic[config.routing.canary.version], thresholds)
    recorded = run_state.load(run_state.path_for(c.stack.path))
    return Status(config, thresholds, traffic, result, recorded, window, problem, drift)


def served_drift(source, config: StackConfig, file_name: str) -> str | None:
    """Where a running local API routes otherwise than the stack file: it refused the file's last
    edit (a version with no server, say) and kept serving the previous routing. Only the local
    metrics source can say (``served_routing``); on a cloud stack Pulumi applied the file or the
    command failed."""
    if not hasattr(source, "served_routing"):
        return None
    canary = config.routing.canary
    expected = {"live": config.routing.live, "candidate": canary.version if canary else None,
                "share": canary.percent if canary else 0}
    for attempt in range(2):  # the gateway reads the file every quarter second
        served = source.served_routing()
        if served == expected:
            return None
        if attempt == 0:
            time.sleep(SERVED_RECHECK_SECONDS)
    return MSG_SERVED_DRIFT.format(served=_describe_routing(served), file=file_name,
                                   expected=_describe_routing(expected))


def _describe_routing(routing: dict) -> str:
    canary = f"canary {routing['candidate']} at {routing['share']:g} %" if routing["candidate"] else "no canary"
    return f"live {routing['live']}, {canary}"


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


def prepare_run(c: Collaborators, request: RunRequest) -> RunState:
    """The state a run starts from: a fresh schedule, or the recorded one for ``--resume``.

    Refuses what `start` would refuse (an unknown version, a running canary of another version),
    so a dry run of an impossible rollout fails like the rollout would."""
    path = run_state.path_for(c.stack.path)
    recorded = run_state.load(path)
    if recorded is not None and recorded.status is RunStatus.RUNNING and run_state.process_alive(recorded.pid):
        raise plan.Refusal(MSG_RUN_IN_PROGRESS.format(version=recorded.version, stack=c.stack.name,
                                                      pid=recorded.pid))
    _, config = read(c.stack)
    if request.resume:
        if recorded is None:
            raise plan.Refusal(MSG_NOTHING_TO_RESUME.format(stack=c.stack.name))
        if request.version is not None and request.version != recorded.version:
            raise plan.Refusal(MSG_RESUME_OTHER.format(recorded=recorded.version, version=request.version))
        if recorded.status is RunStatus.PROMOTED:
            raise plan.Refusal(MSG_ALREADY_PROMOTED.format(version=recorded.version))
        plan.check_version(config, recorded.version)
        recorded.status, recorded.reason, recorded.failures = RunStatus.RUNNING, "", 0
        return recorded
    version = request.version
    canary = config.routing.canary
    if canary is None or canary.version != version:
        plan.start(config, version, request.weights[0], request.sticky)  # raises what start would refuse
    thresholds = thresholds_of(config, request.flags)
    return RunState(stack=c.stack.name, version=version, weights=list(request.weights),
                    bake_seconds=request.bake_seconds, interval_seconds=request.interval_seconds,
                    failure_limit=request.failure_limit, window_seconds=request.window_seconds,
                    sticky=request.sticky, thresholds=thresholds.__dict__.copy(), started_at=c.clock(),
                    quality=_as_dict(quality_thresholds_of(config, request.quality)))


def _as_dict(thresholds: QualityThresholds | None) -> dict[str, Any] | None:
    return None if thresholds is None else dict(thresholds.__dict__)


def run(c: Collaborators, state: RunState) -> RunState:
    """Run the rollout to its end; on any error or signal the candidate is rolled back."""
    path = run_state.path_for(c.stack.path)
    thresholds = Thresholds(**state.thresholds)
    state.pid = os.getpid()

    baseline: dict[str, VariantStats] = {}

    def counts_now(window: float) -> dict[str, VariantStats]:
        _, config = read(c.stack)
        source = c.metrics_for(config)
        return {role: source.variant_stats(config.endpoint.name, version, window)
                for role, version in (("live", config.routing.live), ("candidate", state.version))}

    def set_weight(weight: float) -> None:
        def decide(config: StackConfig) -> plan.Change:
            canary = config.routing.canary
            if canary is not None and canary.version == state.version:
                return plan.set_percent(config, weight)
            return plan.start(config, state.version, weight, state.sticky)
        change(c, decide, dry_run=False)
        baseline.clear()
        baseline.update(counts_now(BASELINE_WINDOW))

    def judge_now(window: float) -> Analysis:
        stats = counts_now(window)
        return judge(since(stats["live"], baseline.get("live")), since(stats["candidate"], baseline.get("candidate")),
                     thresholds)

    def quality_now():
        _, config = read(c.stack)
        request = quality_gate.gate_request(config, state.version, QualityThresholds(**state.quality))
        return quality_gate.run(config, c.stack.name, c.stack.path.parent, request, say=c.say).result

    actions = rollout.Actions(
        set_weight=set_weight, analyse=judge_now,
        promote=lambda: change(c, plan.promote, dry_run=False),
        stop_canary=lambda: stop_canary(c, state.version),
        save=lambda s: run_state.save(path, s), say=c.say, clock=c.clock, sleep=c.sleep,
        quality=quality_now if state.quality is not None else None)
    with signals_interrupt():
        return rollout.execute(state, actions)


def stop_canary(c: Collaborators, version: str) -> Outcome | None:
    """Roll back the canary of ``version`` if it is still running; never flips a promotion back."""
    with c.stack.locked():  # the lock is reentrant: `change` takes it again
        _, config = read(c.stack)
        canary = config.routing.canary
        if canary is None or canary.version != version:
            return None
        return change(c, plan.rollback, dry_run=False)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``rollout.Interrupted`` once; later ones only say a rollback is under way,
    so a second Ctrl-C cannot cut the rollback short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = []

    def handler(number, _frame):
        if raised:
            return
        raised.append(number)
        raise rollout.Interrupted(signal.Signals(number).name)

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
