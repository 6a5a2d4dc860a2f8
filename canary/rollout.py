"""An automated rollout as data: steps of set-weight, pause or analysis, run with abort.

Like Argo Rollouts' canary steps: each step does exactly one thing; a failed analysis rolls
the canary back and ends the run with the reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from canary.analysis import Analysis, Verdict

DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)?")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


def parse_duration(text: str) -> float:
    """Seconds in '90', '30s', '5m', '1h', '250ms'."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use e.g. 30s, 5m, 1h")
    return float(match["value"]) * UNITS[match["unit"]]


@dataclass(frozen=True)
class Step:
    """Exactly one of the three fields is set."""

    set_weight: float | None = None
    pause_seconds: float | None = None
    analysis: bool = False

    def __post_init__(self) -> None:
        if sum((self.set_weight is not None, self.pause_seconds is not None, self.analysis)) != 1:
            raise ValueError("a step sets a weight, pauses, or analyses: exactly one")


def schedule(weights: list[float], bake_seconds: float) -> list[Step]:
    steps: list[Step] = []
    for weight in weights:
        steps += [Step(set_weight=weight), Step(pause_seconds=bake_seconds), Step(analysis=True)]
    return steps


@dataclass(frozen=True)
class Outcome:
    promoted: bool
    reason: str
    analyses: list[Analysis]


def run(steps: list[Step], set_weight: Callable[[float], None], analyse: Callable[[], Analysis],
        promote: Callable[[], None], rollback: Callable[[], None], say: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep) -> Outcome:
    analyses: list[Analysis] = []
    for step in steps:
        if step.set_weight is not None:
            say(f"set canary weight to {step.set_weight:g} %")
            set_weight(step.set_weight)
        elif step.pause_seconds is not None:
            say(f"bake for {step.pause_seconds:g} s")
            sleep(step.pause_seconds)
        else:
            result = analyse()
            analyses.append(result)
            say(f"analysis: {result.verdict.value} ({'; '.join(result.reasons)})")
            if result.verdict is not Verdict.PASS:
                rollback()
                return Outcome(False, f"rolled back: {result.verdict.value}: {'; '.join(result.reasons)}", analyses)
    promote()
    return Outcome(True, "every analysis passed; promoted", analyses)
