"""Stand-ins for `canary`'s collaborators: a local stack whose metrics come from the test, and a
console that says nothing (or records it) and answers every question with no."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canary.backends import LocalBackend
from core.config import StackConfig
from core.routing import Routing


@dataclass
class QuietConsole:
    said: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.said.append(line)

    def confirm(self, question: str) -> bool:
        self.said.append(question)
        return False


@dataclass
class StubMetrics(LocalBackend):
    """The stack (a real stack file) with metrics from ``source``; it knows nothing of a running API."""

    source: Any = None
    quality_by_default = False  # no model servers behind it to ask (tests that want a gate ask for one)

    def metrics(self, config: StackConfig) -> Any:
        return self.source

    def served(self, config: StackConfig) -> Routing | None:
        return None
