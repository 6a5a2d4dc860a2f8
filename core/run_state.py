"""The recorded state of an automated rollout, written atomically beside the stack file.

``Pulumi.<stack>.canary-run.json`` holds the schedule's records, the one being run, every
verdict, the thresholds and how the run ended, so `canary status` and the local dashboard show
it and `canary run --resume` continues it. Like an Argo Rollout's status: the rollout is data, not
the memory of a process. This module is its one reader and writer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from core import thresholds as limits
from core.analysis import Check, Verdict
from core.files import write_atomic
from core.schedule import Step, StepKind, schedule
from core.thresholds import AnalysisThresholds, QualityThresholds

SUFFIX = ".canary-run.json"
FORMAT = 3  # 3: steps are counted from 1 in the document, as every text counts them
READABLE_FORMATS = (2, 3)

MSG_UNREADABLE = "run state {path} is not readable ({reason}); delete it to start afresh"


class RunStateError(ValueError):
    """A run state file that cannot be read."""


class RunStatus(StrEnum):
    """How the run stands: running, or how it ended."""

    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    ROLLBACK_FAILED = "rollback failed"


class Phase(StrEnum):
    STARTING = "starting"
    SETTING = "setting"
    BAKING = "baking"
    PAUSED = "paused"  # `canary pause`: the weight holds, the bake's clock stands still, looks go on
    PROMOTING = "promoting"
    ROLLING_BACK = "rolling back"
    DONE = "done"


class EndedBy(StrEnum):
    """What ended the run (``NOT_ENDED`` while it runs)."""

    NOT_ENDED = ""
    PROMOTED = "promoted"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SIGINT = "SIGINT"
    SIGTERM = "SIGTERM"
    SIGHUP = "SIGHUP"  # the terminal closed
    ABORTED = "aborted"  # `canary abort`
    ERROR = "error"


# a run a signal or an error ended was interrupted, not judged: `run --resume` continues it; one a
# verdict or `canary abort` ended is run again with `run --retry`
INTERRUPTIONS = frozenset({EndedBy.SIGINT, EndedBy.SIGTERM, EndedBy.SIGHUP, EndedBy.ERROR})


class VerdictKind(StrEnum):
    INTERVAL = "interval"  # during a bake
    GATE = "gate"  # at the end of a bake
    QUALITY = "quality"  # the predictions judged


@dataclass
class VerdictRecord:
    time: float
    step: int  # the weight step (0-based) it was taken in
    weight: float
    kind: VerdictKind
    verdict: Verdict
    reasons: list[str]
    checks: list[Check] = field(default_factory=list)  # the evidence (traffic analyses; none for quality)

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "step": self.step + 1, "weight": self.weight, "kind": self.kind.value,
                "verdict": self.verdict.value, "reasons": list(self.reasons),
                "checks": [check.to_json() for check in self.checks]}

    @classmethod
    def from_json(cls, data: dict[str, Any], first_step: int = 1) -> VerdictRecord:
        """``first_step``: how the document counts steps (format 2 counted from 0)."""
        return cls(float(data["time"]), int(data["step"]) - first_step, float(data["weight"]),
                   VerdictKind(data["kind"]),
                   Verdict(data["verdict"]), [str(reason) for reason in data["reasons"]],
                   [Check.from_json(check) for check in data.get("checks", [])])


@dataclass
class RunState:
    stack: str
    version: str
    steps: list[Step]
    interval_seconds: float
    failure_limit: int
    window_seconds: float
    sticky: bool
    thresholds: AnalysisThresholds
    quality: QualityThresholds | None = None  # None: the run has no quality gate
    position: int = 0  # index into steps of the record being run (past the end: all ran)
    phase: Phase = Phase.STARTING
    status: RunStatus = RunStatus.RUNNING
    ended_by: EndedBy = EndedBy.NOT_ENDED
    failures: int = 0
    verdicts: list[VerdictRecord] = field(default_factory=list)
    started_at: float = 0.0
    updated_at: float = 0.0
    step_started_at: float | None = None
    reason: str = ""
    step_times: list[list[float]] = field(default_factory=list)  # [time, weight] each time a weight was set
    pid: int = 0
    bake_factor: float = 1.0  # the last bake and its window stretched by this (a stage cache, analysis.bake_factor)

    @classmethod
    def planned(cls, stack: str, version: str, weights: list[float], bake_seconds: float, interval_seconds: float,
                failure_limit: int, window_seconds: float, sticky: bool, thresholds: AnalysisThresholds,
                quality: QualityThresholds | None = None, started_at: float = 0.0) -> RunState:
        """A run about to start: the schedule of ``weights``, with the quality gate first if any."""
        return cls(stack, version, schedule(weights, bake_seconds, quality is not None), interval_seconds,
                   failure_limit, window_seconds, sticky, thresholds, quality, started_at=started_at)

    @property
    def weights(self) -> list[float]:
        return [step.set_weight for step in self.steps if step.set_weight is not None]

    @property
    def bake_seconds(self) -> float:
        return next((step.pause_seconds for step in self.steps if step.pause_seconds is not None), 0.0)

    @property
    def step(self) -> int:
        """The weight step (0-based) being run or reached: the number of weights set up to here."""
        reached = self.steps[:self.position + 1]
        return max(0, min(sum(s.kind is StepKind.SET_WEIGHT for s in reached), len(self.weights)) - 1)

    @property
    def weight(self) -> float:
        return self.weights[self.step] if self.weights else 0.0

    def resume_position(self) -> int:
        """Where `run --resume` starts: the beginning of the weight step reached, so the weight is set
        again and its bake runs whole (the first step begins with the quality gate, if any)."""
        if self.step == 0:
            return 0
        return [i for i, s in enumerate(self.steps) if s.kind is StepKind.SET_WEIGHT][self.step]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "stack": self.stack, "version": self.version,
            "steps": [step.to_json() for step in self.steps], "position": self.position,
            "intervalSeconds": self.interval_seconds, "failureLimit": self.failure_limit,
            "windowSeconds": self.window_seconds, "sticky": self.sticky,
            "thresholds": limits.to_json(self.thresholds),
            "quality": None if self.quality is None else limits.to_json(self.quality),
            "phase": self.phase.value, "status": self.status.value, "endedBy": self.ended_by.value,
            "failures": self.failures, "verdicts": [verdict.to_json() for verdict in self.verdicts],
            "startedAt": self.started_at, "updatedAt": self.updated_at, "stepStartedAt": self.step_started_at,
            "reason": self.reason, "stepTimes": self.step_times, "pid": self.pid, "bakeFactor": self.bake_factor,
            "step": self.step + 1, "stepCount": len(self.weights),  # derived, for readers; counted from 1
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        """Raises ValueError, KeyError or TypeError on a document that is not a run state."""
        if data.get("format") not in READABLE_FORMATS:
            raise ValueError(f"format {data.get('format')!r}, this version reads formats {READABLE_FORMATS}")
        quality, first_step = data["quality"], 0 if data["format"] == 2 else 1
        return cls(
            stack=str(data["stack"]), version=str(data["version"]),
            steps=[Step.from_json(step) for step in data["steps"]], position=int(data["position"]),
            interval_seconds=float(data["intervalSeconds"]), failure_limit=int(data["failureLimit"]),
            window_seconds=float(data["windowSeconds"]), sticky=bool(data["sticky"]),
            thresholds=AnalysisThresholds(**data["thresholds"]),
            quality=None if quality is None else QualityThresholds(**quality),
            phase=Phase(data["phase"]), status=RunStatus(data["status"]), ended_by=EndedBy(data["endedBy"]),
            failures=int(data["failures"]), verdicts=[VerdictRecord.from_json(v, first_step) for v in data["verdicts"]],
            started_at=float(data["startedAt"]), updated_at=float(data["updatedAt"]),
            step_started_at=None if data["stepStartedAt"] is None else float(data["stepStartedAt"]),
            reason=str(data["reason"]), step_times=[[float(t), float(w)] for t, w in data["stepTimes"]],
            pid=int(data["pid"]), bake_factor=float(data.get("bakeFactor", 1.0)))


def path_for(stack_path: Path) -> Path:
    """``Pulumi.local.yaml`` -> ``Pulumi.local.canary-run.json``, beside it."""
    return stack_path.with_name(stack_path.name.removesuffix(".yaml") + SUFFIX)


def save(path: Path, state: RunState) -> None:
    write_atomic(path, json.dumps(state.to_json(), indent=2) + "\n")


def load(path: Path) -> RunState | None:
    """The recorded run, or None when this stack has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise RunStateError(MSG_UNREADABLE.format(path=path, reason=getattr(error, "strerror", None) or error)) \
            from None
    try:
        return RunState.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise RunStateError(MSG_UNREADABLE.format(path=path, reason=error)) from None


def process_alive(pid: int, count_self: bool = False) -> bool:
    """Whether the process that recorded a running state still runs (on this host). A rollout
    never waits on itself, so its own pid counts as gone unless ``count_self`` (a reader that never
    runs a rollout, such as the local dashboard)."""
    if pid <= 0 or (pid == os.getpid() and not count_self):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
