"""The recorded state of an automated rollout, written atomically beside the stack file.

``Pulumi.<stack>.canary-run.json`` holds the schedule, the step reached, every verdict and how
the run ended, so `canary status` shows it and `canary run --resume` continues it. Like an Argo
Rollout's status: the rollout is data, not the memory of a process.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from components.files import write_atomic

SUFFIX = ".canary-run.json"

MSG_UNREADABLE = "run state {path} is not readable ({reason}); delete it to start afresh"


class RunStateError(ValueError):
    """A run state file that cannot be read."""


class RunStatus(str, Enum):
    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    ROLLBACK_FAILED = "rollback failed"


@dataclass
class VerdictRecord:
    time: float
    step: int
    weight: float
    kind: str  # "interval": during a bake; "gate": at the end of a bake; "quality": the predictions judged
    verdict: str
    reasons: list[str]


@dataclass
class RunState:
    stack: str
    version: str
    weights: list[float]
    bake_seconds: float
    interval_seconds: float
    failure_limit: int
    window_seconds: float
    sticky: bool
    thresholds: dict[str, Any]
    step: int = 0  # index into weights of the step being run or reached
    phase: str = "starting"  # starting, setting, baking, promoting, rolling back, done
    status: RunStatus = RunStatus.RUNNING
    failures: int = 0
    verdicts: list[VerdictRecord] = field(default_factory=list)
    started_at: float = 0.0
    updated_at: float = 0.0
    step_started_at: float | None = None
    reason: str = ""
    ended_by: str = ""  # promoted, fail, inconclusive, SIGINT, SIGTERM or error
    step_times: list[list[float]] = field(default_factory=list)  # [time, weight] each time a weight was set
    pid: int = 0
    quality: dict[str, Any] | None = None  # the quality gate's thresholds; None: the run has no quality gate

    @property
    def weight(self) -> float:
        return self.weights[min(self.step, len(self.weights) - 1)]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        values = dict(data)
        values["status"] = RunStatus(values["status"])
        values["verdicts"] = [VerdictRecord(**v) for v in values.get("verdicts", [])]
        return cls(**values)


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
    except OSError as error:
        raise RunStateError(MSG_UNREADABLE.format(path=path, reason=error.strerror)) from None
    try:
        return RunState.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError) as error:
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
