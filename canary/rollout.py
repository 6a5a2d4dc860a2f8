"""An automated rollout as data: steps of set-weight, bake (analysed every interval) and a gate.

Like Argo Rollouts' canary with a background analysis: each weight bakes while an analysis runs
every ``interval``; more than ``failure_limit`` failed measurements abort at once, and the gate
at the end of each bake must pass. Anything that stops the run early (an error, SIGINT, SIGTERM)
rolls the candidate back; every change of state is recorded through ``save``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from canary.analysis import Analysis, Verdict
from canary.run_state import RunState, RunStatus, VerdictRecord

DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)?")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}

MSG_ROLLBACK_FAILED = ("rolling back failed ({error}): {version} may still receive {weight:g} % of traffic on "
                       "stack {stack}; run `canary --stack {stack} rollback` to stop it")


def parse_duration(text: str) -> float:
    """Seconds in '90', '30s', '5m', '1h', '250ms'."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use e.g. 30s, 5m, 1h")
    return float(match["value"]) * UNITS[match["unit"]]


def describe_duration(seconds: float) -> str:
    """The shortest of '1h', '10m', '30s', '0.5s' for a duration."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Step:
    """Exactly one of the four fields is set. ``quality``: live and candidate are asked the same
    questions and the candidate's predictions judged (canary.quality_gate)."""

    set_weight: float | None = None
    pause_seconds: float | None = None
    analysis: bool = False
    quality: bool = False

    def __post_init__(self) -> None:
        if sum((self.set_weight is not None, self.pause_seconds is not None, self.analysis, self.quality)) != 1:
            raise ValueError("a step sets a weight, pauses, analyses or judges predictions: exactly one")

    def describe(self) -> str:
        if self.set_weight is not None:
            return f"set canary weight to {self.set_weight:g} %"
        if self.pause_seconds is not None:
            return f"bake {self.pause_seconds:g} s"
        if self.quality:
            return "quality gate: the candidate's predictions against live's, pass to continue"
        return "analysis gate: pass to continue, anything else rolls back"


def schedule(weights: list[float], bake_seconds: float, quality: bool = False) -> list[Step]:
    """The quality gate, when asked for, comes once, first: predictions do not depend on traffic,
    so a poor candidate is stopped before any user is sent to it, and the gate's own invocations
    fall before the first step's baseline, not into its counts."""
    steps: list[Step] = [Step(quality=True)] if quality else []
    for weight in weights:
        steps += [Step(set_weight=weight), Step(pause_seconds=bake_seconds), Step(analysis=True)]
    return steps


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so no ``except Exception`` swallows it."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


class Aborted(Exception):
    """The analysis stopped the run; the message says why."""

    def __init__(self, message: str, verdict: Verdict):
        super().__init__(message)
        self.verdict = verdict


@dataclass
class Actions:
    """What the run does to the world; the service layer supplies them."""

    set_weight: Callable[[float], None]
    analyse: Callable[[float], Analysis]  # the window in seconds
    promote: Callable[[], None]
    stop_canary: Callable[[], None]
    save: Callable[[RunState], None]
    say: Callable[[str], None] = print
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    quality: Callable[[], Judged] | None = None  # the quality gate, when the run has one


class Judged(Protocol):
    verdict: Verdict
    reasons: list[str]


def execute(state: RunState, actions: Actions) -> RunState:
    """Run from ``state.step`` to the end; always returns a finished state (promoted or rolled back)."""
    try:
        for index in range(state.step, len(state.weights)):
            _step(state, index, actions)
        _record(state, actions, phase="promoting")
        actions.promote()
        state.ended_by = "promoted"
        actions.say("every analysis passed; promoted")
        return _finish(state, actions, RunStatus.PROMOTED, "every analysis passed; promoted")
    except Aborted as aborted:
        state.ended_by = aborted.verdict.value
        return _roll_back(state, actions, f"rolled back: {aborted}")
    except Interrupted as interrupted:
        state.ended_by = interrupted.signal_name
        return _roll_back(state, actions, f"rolled back: interrupted by {interrupted.signal_name}")
    except Exception as error:  # any failure leaves no candidate serving
        state.ended_by = "error"
        return _roll_back(state, actions, f"rolled back: {error}")


def _step(state: RunState, index: int, actions: Actions) -> None:
    state.step = index
    weight = state.weights[index]
    if index == 0 and actions.quality is not None:
        _quality_gate(state, actions)
    _record(state, actions, phase="setting")
    actions.say(f"step {index + 1}/{len(state.weights)}: set canary weight to {weight:g} %")
    actions.set_weight(weight)
    state.step_started_at = actions.clock()
    state.step_times.append([state.step_started_at, weight])
    _record(state, actions, phase="baking")
    deadline = state.step_started_at + state.bake_seconds
    while (left := deadline - actions.clock()) > 0:
        actions.sleep(min(state.interval_seconds, left))
        if deadline - actions.clock() <= 0:
            break
        result = _measure(state, actions, "interval")
        if result.verdict is Verdict.FAIL:
            state.failures += 1
            if state.failures > state.failure_limit:
                raise Aborted(f"fail: {'; '.join(result.reasons)} ({state.failures} failed measurement(s), "
                              f"failure limit {state.failure_limit})", Verdict.FAIL)
    result = _measure(state, actions, "gate")
    if result.verdict is not Verdict.PASS:
        raise Aborted(f"{result.verdict.value}: {'; '.join(result.reasons)}", result.verdict)


def _measure(state: RunState, actions: Actions, kind: str) -> Analysis:
    since_step = actions.clock() - (state.step_started_at or actions.clock())
    window = max(1.0, min(state.window_seconds, since_step))
    result = actions.analyse(window)
    state.verdicts.append(VerdictRecord(actions.clock(), state.step, state.weight, kind, result.verdict.value,
                                        list(result.reasons)))
    _record(state, actions)
    actions.say(f"analysis ({kind}): {result.verdict.value} ({'; '.join(result.reasons)})")
    return result


def _quality_gate(state: RunState, actions: Actions) -> None:
    result = actions.quality()
    state.verdicts.append(VerdictRecord(actions.clock(), state.step, state.weight, "quality", result.verdict.value,
                                        list(result.reasons)))
    _record(state, actions)
    actions.say(f"quality gate: {result.verdict.value} ({'; '.join(result.reasons)})")
    if result.verdict is not Verdict.PASS:
        raise Aborted(f"quality {result.verdict.value}: {'; '.join(result.reasons)}", result.verdict)


def _roll_back(state: RunState, actions: Actions, reason: str) -> RunState:
    _record(state, actions, phase="rolling back", reason=reason)
    actions.say(reason)
    try:
        actions.stop_canary()
    except BaseException as error:  # a second signal, or the rollback itself failing
        message = MSG_ROLLBACK_FAILED.format(error=error or type(error).__name__, version=state.version,
                                             weight=state.weight, stack=state.stack)
        actions.say(message)
        return _finish(state, actions, RunStatus.ROLLBACK_FAILED, f"{reason}; {message}")
    return _finish(state, actions, RunStatus.ROLLED_BACK, reason)


def _finish(state: RunState, actions: Actions, status: RunStatus, reason: str) -> RunState:
    state.status = status
    _record(state, actions, phase="done", reason=reason)
    return state


def _record(state: RunState, actions: Actions, phase: str | None = None, reason: str | None = None) -> None:
    if phase is not None:
        state.phase = phase
    if reason is not None:
        state.reason = reason
    state.updated_at = actions.clock()
    actions.save(state)
