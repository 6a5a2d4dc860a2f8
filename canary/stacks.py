"""Applying a plan: the local stack file, or a cloud stack through Pulumi's Automation API.

Both hold a lock on the stack file for the whole read-plan-write, so two commands cannot
interleave, and rewrite it atomically (temp file + rename) keeping its comments. A cloud
stack then runs `pulumi up`; if that fails the file is restored, so the file, Pulumi's state
and AWS keep agreeing.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout
from ruamel.yaml import YAML

from canary.plan import Plan
from components import stack_files
from components.files import write_atomic

MSG_NO_PULUMI = ("the pulumi CLI is needed to apply changes to stack {stack} (it runs `pulumi up`); "
                 "install it from pulumi.com, or look at the change with --dry-run")


class ApplyError(RuntimeError):
    """A change that could not be applied; the stack file is as it was."""


class StackOps(Protocol):
    name: str

    def read(self) -> dict[str, Any]: ...

    def apply(self, plan: Plan) -> None: ...

    def locked(self) -> contextlib.AbstractContextManager: ...


class StackFile:
    """``Pulumi.<stack>.yaml``: locked reads and atomic, comment-preserving rewrites."""

    def __init__(self, name: str, project_dir: Path):
        self.name = name
        self.path = stack_files.stack_path(name, project_dir)
        self._lock = FileLock(str(self.path) + ".lock", timeout=30)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except Timeout:
            raise ApplyError(f"{self.path} is locked by another canary command; try again") from None

    def read(self) -> dict[str, Any]:
        return stack_files.read_values(self.path)

    def write(self, values: dict[str, Any]) -> None:
        yaml = YAML()
        yaml.preserve_quotes = True
        document = yaml.load(self.path.read_text(encoding="utf-8"))
        config = document["config"]
        for key in [k for k in config if k not in values]:
            del config[key]
        for key, value in values.items():
            if config.get(key) != value:
                config[key] = value
        text = io.StringIO()
        yaml.dump(document, text)
        write_atomic(self.path, text.getvalue())


class LocalStack(StackFile):
    """The local runtime watches the file, so writing it is applying it."""

    def apply(self, plan: Plan) -> None:
        self.write(plan.after)


class PulumiStack(StackFile):
    """A cloud stack: write the file, then `pulumi up` through the Automation API."""

    def __init__(self, name: str, project_dir: Path, select_stack=None):
        super().__init__(name, project_dir)
        self.project_dir = project_dir
        self._select_stack = select_stack

    def _stack(self):
        if self._select_stack is not None:
            return self._select_stack(self.name, self.project_dir)
        if shutil.which("pulumi") is None:
            raise ApplyError(MSG_NO_PULUMI.format(stack=self.name))
        from pulumi import automation

        try:
            return automation.select_stack(self.name, work_dir=str(self.project_dir))
        except FileNotFoundError:
            raise ApplyError(MSG_NO_PULUMI.format(stack=self.name)) from None

    def apply(self, plan: Plan) -> None:
        stack = self._stack()  # before touching the file: a missing CLI changes nothing
        original = self.path.read_text(encoding="utf-8")
        self.write(plan.after)
        try:
            stack.up(on_output=print)
        except Exception as error:
            write_atomic(self.path, original)
            raise ApplyError(f"`pulumi up` failed, {self.path.name} restored: {error}") from None


def for_stack(name: str, project_dir: Path) -> StackOps:
    return LocalStack(name, project_dir) if name == "local" else PulumiStack(name, project_dir)
