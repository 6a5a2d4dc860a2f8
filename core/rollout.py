"""The rollout controller: walks a run's schedule records, one after the other.

Like Argo Rollouts' canary with a background analysis: a set-weight record moves traffic, a bake
record waits while an analysis runs every ``interval`` (more than ``failure_limit`` failed
measurements abort at once), an analysis record is the gate at the end of a bake, a quality
record judges the candidate's predictions. Anything that stops the run early (a verdict, an
error, a signal) rolls the candidate back. Every change of state is recorded through ``save``;
every effect on the world is one of the ``Actions`` the caller supplies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.analysis import Analysis, Verdict, bake_factor, cached_share
from core.run_state import EndedBy, Phase, RunState, RunStatus, VerdictKind, VerdictRecord
from core.schedule import Step, StepKind

MSG_PROMOTED = "every analysis passed; promoted"
MSG_PROMOTED_FULL = "promoted by `canary promote --full` at step {step} ({weight:g} %), the steps left skipped"
MSG_PAUSED = ("paused by {by} at step {step} ({weight:g} %): the weight holds and the bake waits; analyses go on; "
              "`canary resume` continues")
MSG_RESUMED = "resumed: step {step}'s bake continues"
MSG_STRETCHED = ("the stage cache answered {cached:.0%} of live's requests: the last bake runs {factor:.1f}x as long "
                 "(until {minutes:.0f} min) so the 5xx test sees as much of live's own answers as without a cache")
MSG_ABORTED = "rolled back: aborted by `canary abort` at step {step} ({weight:g} %)"
MSG_ROLLBACK_FAILED = ("rolling back failed ({error}): {version} may still receive {weight:g} % of traffic on "
                       "stack {stack}; run `canary --stack {stack} rollback` to stop it")


class Interrupted(BaseException):
    """A signal arrived; a BaseException so no ``except Exception`` swallows it."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


class AbortRequested(BaseException):
    """`canary abort` asked the run to stop and roll back now."""


class PromoteRequested(BaseException):
    """`canary promote --full` asked the run to promote now, skipping the steps left."""


class Aborted(Exception):
    """The analysis stopped the run; the message says why."""

    def __init__(self, message: str, verdict: Verdict):
        super().__init__(message)
        self.verdict = verdict


class Judged(Protocol):
    @property
    def verdict(self) -> Verdict: ...

    @property
    def reasons(self) -> list[str]: ...


@dataclass
class Actions:
    """What the run does to the world; the service layer supplies them."""

    set_weight: Callable[[float], None]
    analyse: Callable[[float], Analysis]  # the window in seconds
    promote: Callable[[], None]
    stop_canary: Callable[[], None]
    save: Callable[[RunState], None]
    say: Callable[[str], None]
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    quality: Callable[[], Judged] | None = None  # the quality gate, when the run has one
    paused: Callable[[], str] | None = None  # who paused the run ("" when nobody did)


def execute(state: RunState, actions: Actions) -> RunState:
    """Run from ``state.position`` to the end; always returns a finished state (promoted or rolled back)."""
    try:
        try:
            while state.position < len(state.steps):
                _run(state, state.steps[state.position], actions)
                state.position += 1
            message = MSG_PROMOTED
        except PromoteRequested:
            message = MSG_PROMOTED_FULL.format(step=state.step + 1, weight=state.weight)
        return _promote(state, actions, message)
    except AbortRequested:
        state.ended_by = EndedBy.ABORTED
        return _roll_back(state, actions, MSG_ABORTED.format(step=state.step + 1, weight=state.weight))
    except Aborted as aborted:
        state.ended_by = EndedBy(aborted.verdict.value)
        return _roll_back(state, actions, f"rolled back: {aborted}")
    except Interrupted as interrupted:
        state.ended_by = EndedBy(interrupted.signal_name)
        return _roll_back(state, actions, f"rolled back: interrupted by {interrupted.signal_name}")
    except Exception as error:  # noqa: BLE001  # any failure leaves no candidate serving
        state.ended_by = EndedBy.ERROR
        return _roll_back(state, actions, f"rolled back: {error}")


def _promote(state: RunState, actions: Actions, message: str) -> RunState:
    _record(state, actions, phase=Phase.PROMOTING)
    actions.promote()
    state.ended_by = EndedBy.PROMOTED
    actions.say(message)
    return _finish(state, actions, RunStatus.PROMOTED, message)


def _run(state: RunState, step: Step, actions: Actions) -> None:
    """One record: the switch of Argo's controller."""
    kind = step.kind
    if kind is StepKind.QUALITY:
        _quality_gate(state, actions)
    elif kind is StepKind.SET_WEIGHT:
        _set_weight(state, step.set_weight or 0.0, actions)
    elif kind is StepKind.BAKE:
        _bake(state, step.pause_seconds or 0.0, actions)
    else:
        result = _measure(state, actions, VerdictKind.GATE)
        if result.verdict is not Verdict.PASS:
            raise Aborted(f"{result.verdict.value}: {'; '.join(result.reasons)}", result.verdict)


def _set_weight(state: RunState, weight: float, actions: Actions) -> None:
    _record(state, actions, phase=Phase.SETTING)
    actions.say(f"step {state.step + 1}/{len(state.weights)}: set canary weight to {weight:g} %")
    actions.set_weight(weight)
    state.step_started_at = actions.clock()
    state.step_times.append([state.step_started_at, weight])
    _record(state, actions, phase=Phase.BAKING)


def _bake(state: RunState, seconds: float, actions: Actions) -> None:
    """Wait out the bake, measuring every interval; too many failed measurements abort at once.
    The last bake, the one before promotion, runs longer while a stage cache hides most of live's
    requests from its model (``analysis.bake_factor``), and its window grows with it."""
    started = state.step_started_at if state.step_started_at is not None else actions.clock()
    last, paused = _is_last_bake(state), 0.0

    def left() -> float:
        length = seconds * (state.bake_factor if last else 1.0)
        return started + paused + length - actions.clock()  # a paused bake's clock stands still

    while (remaining := left()) > 0:
        slept_from = actions.clock()
        actions.sleep(min(state.interval_seconds, remaining))
        if _held(state, actions):
            paused += actions.clock() - slept_from
        elif left() <= 0:
            break
        # looks go on while paused: a candidate that fails is rolled back, paused or not
        result = _measure(state, actions, VerdictKind.INTERVAL)
        if last:
            _stretch(state, actions, seconds, result)
        if result.verdict is Verdict.FAIL:
            state.failures += 1
            if state.failures > state.failure_limit:
                raise Aborted(f"fail: {'; '.join(result.reasons)} ({state.failures} failed measurement(s), "
                              f"failure limit {state.failure_limit})", Verdict.FAIL)


def _is_last_bake(state: RunState) -> bool:
    return not any(step.kind is StepKind.BAKE for step in state.steps[state.position + 1:])


def _stretch(state: RunState, actions: Actions, seconds: float, result: Analysis) -> None:
    """The last bake's factor after this look: it only grows (by 5 % or more, so the operator is
    not told of every small change), and the record keeps it for a resumed run."""
    factor = bake_factor(result.live)
    if factor < state.bake_factor + 0.05:
        return
    state.bake_factor = factor
    actions.say(MSG_STRETCHED.format(cached=cached_share(result.live), factor=factor, minutes=seconds * factor / 60))
    _record(state, actions)


def _held(state: RunState, actions: Actions) -> bool:
    """Whether the run is paused now; the record and the operator are told when that changes."""
    by = actions.paused() if actions.paused is not None else ""
    if by and state.phase is not Phase.PAUSED:
        _record(state, actions, phase=Phase.PAUSED)
        actions.say(MSG_PAUSED.format(by=by, step=state.step + 1, weight=state.weight))
    elif not by and state.phase is Phase.PAUSED:
        _record(state, actions, phase=Phase.BAKING)
        actions.say(MSG_RESUMED.format(step=state.step + 1))
    return bool(by)


def _measure(state: RunState, actions: Actions, kind: VerdictKind) -> Analysis:
    since_step = actions.clock() - (state.step_started_at or actions.clock())
    window = max(1.0, min(state.window_seconds * state.bake_factor, since_step))
    result = actions.analyse(window)
    _verdict(state, actions, kind, result)
    actions.say(f"analysis ({kind.value}): {result.verdict.value} ({'; '.join(result.reasons)})")
    return result


def _quality_gate(state: RunState, actions: Actions) -> None:
    if actions.quality is None:
        raise ValueError("the run's schedule has a quality gate but no way to judge predictions")
    result = actions.quality()
    _verdict(state, actions, VerdictKind.QUALITY, result)
    actions.say(f"quality gate: {result.verdict.value} ({'; '.join(result.reasons)})")
    if result.verdict is not Verdict.PASS:
        raise Aborted(f"quality {result.verdict.value}: {'; '.join(result.reasons)}", result.verdict)


def _verdict(state: RunState, actions: Actions, kind: VerdictKind, result: Judged) -> None:
    checks = list(result.checks) if isinstance(result, Analysis) else []
    state.verdicts.append(VerdictRecord(actions.clock(), state.step, state.weight, kind, result.verdict,
                                        list(result.reasons), checks))
    _record(state, actions)


def _roll_back(state: RunState, actions: Actions, reason: str) -> RunState:
    _record(state, actions, phase=Phase.ROLLING_BACK, reason=reason)
    actions.say(reason)
    try:
        actions.stop_canary()
    except BaseException as error:  # noqa: BLE001  # a second signal, or the rollback itself failing
        message = MSG_ROLLBACK_FAILED.format(error=error or type(error).__name__, version=state.version,
                                             weight=state.weight, stack=state.stack)
        actions.say(message)
        return _finish(state, actions, RunStatus.ROLLBACK_FAILED, f"{reason}; {message}")
    return _finish(state, actions, RunStatus.ROLLED_BACK, reason)


def _finish(state: RunState, actions: Actions, status: RunStatus, reason: str) -> RunState:
    state.status = status
    _record(state, actions, phase=Phase.DONE, reason=reason)
    return state


def _record(state: RunState, actions: Actions, phase: Phase | None = None, reason: str | None = None) -> None:
    if phase is not None:
        state.phase = phase
    if reason is not None:
        state.reason = reason
    state.updated_at = actions.clock()
    actions.save(state)
