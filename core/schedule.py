"""A rollout as data: the records a run walks, one of set-weight, bake, analysis gate or quality
gate each (Argo Rollouts' canary steps), and the durations people write them with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)?")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


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


class StepKind(StrEnum):
    SET_WEIGHT = "setWeight"
    BAKE = "bake"
    ANALYSIS = "analysis"
    QUALITY = "quality"


@dataclass(frozen=True)
class Step:
    """Exactly one of the four fields is set. ``quality``: live and candidate are asked the same
    questions and the candidate's predictions judged; ``analysis``: the traffic since the weight was
    set must pass."""

    set_weight: float | None = None
    pause_seconds: float | None = None
    analysis: bool = False
    quality: bool = False

    def __post_init__(self) -> None:
        if sum((self.set_weight is not None, self.pause_seconds is not None, self.analysis, self.quality)) != 1:
            raise ValueError("a step sets a weight, pauses, analyses or judges predictions: exactly one")

    @property
    def kind(self) -> StepKind:
        if self.set_weight is not None:
            return StepKind.SET_WEIGHT
        if self.pause_seconds is not None:
            return StepKind.BAKE
        return StepKind.QUALITY if self.quality else StepKind.ANALYSIS

    def describe(self, interval_seconds: float | None = None) -> str:
        if self.set_weight is not None:
            return f"set canary weight to {self.set_weight:g} %"
        if self.pause_seconds is not None:
            every = f", analysed every {describe_duration(interval_seconds)}" if interval_seconds else ""
            return f"bake {describe_duration(self.pause_seconds)}{every}"
        if self.quality:
            return "quality gate: the candidate's predictions against live's, pass to continue"
        return "analysis gate: pass to continue, anything else rolls back"

    def to_json(self) -> dict[str, Any]:
        value: Any = {StepKind.SET_WEIGHT: self.set_weight, StepKind.BAKE: self.pause_seconds}.get(self.kind, True)
        return {self.kind.value: value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        (key, value), = data.items()
        kind = StepKind(key)
        if kind is StepKind.SET_WEIGHT:
            return cls(set_weight=float(value))
        if kind is StepKind.BAKE:
            return cls(pause_seconds=float(value))
        return cls(analysis=True) if kind is StepKind.ANALYSIS else cls(quality=True)


def schedule(weights: list[float], bake_seconds: float, quality: bool = False) -> list[Step]:
    """The quality gate, when asked for, comes once, first: predictions do not depend on traffic,
    so a poor candidate is stopped before any user is sent to it, and the gate's own invocations
    fall before the first step's baseline, not into its counts."""
    steps: list[Step] = [Step(quality=True)] if quality else []
    for weight in weights:
        steps += [Step(set_weight=weight), Step(pause_seconds=bake_seconds), Step(analysis=True)]
    return steps
