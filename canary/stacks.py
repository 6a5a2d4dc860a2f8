"""Applying a plan: the local stack file, or a cloud stack through Pulumi's Automation API.

Both hold a lock on the stack file for the whole read-plan-write, so two commands cannot
interleave, and rewrite it atomically (temp file + rename) keeping its comments. A cloud
stack then previews, gates, runs `pulumi up` and verifies the endpoint (canary.cloud); if any
of that stops the step the file is restored, so the file, Pulumi's state and AWS keep agreeing.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import click
from filelock import FileLock, Timeout

from canary import cloud, stack_text
from canary.plan import Plan
from components import config as stack_config
from components import routing
from components import stack_files
from components.files import write_atomic
from ratings import extras

MSG_NO_PULUMI = ("the pulumi CLI is needed to apply changes to stack {stack} (it runs `pulumi up`); "
                 "install it from pulumi.com, or look at the change with --dry-run")


class ApplyError(RuntimeError):
    """A change that could not be applied; the stack file is as it was."""


class StackOps(Protocol):
    name: str
    path: Path

    def read(self) -> dict[str, Any]: ...

    def apply(self, plan: Plan, options: cloud.CloudOptions = cloud.CloudOptions()) -> None: ...

    def diff(self, values: dict[str, Any]) -> list[str]: ...

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

    def render(self, values: dict[str, Any]) -> str:
        """The stack file with ``values`` as its config, changing only the lines that must change."""
        return stack_text.rewrite(self.path.read_text(encoding="utf-8"), values)

    def diff(self, values: dict[str, Any]) -> list[str]:
        """A unified diff of the stack file that writing ``values`` would make."""
        return stack_text.diff(self.path.read_text(encoding="utf-8"), self.render(values), self.path.name)

    def write(self, values: dict[str, Any]) -> None:
        write_atomic(self.path, self.render(values))


class LocalStack(StackFile):
    """The local runtime watches the file, so writing it is applying it."""

    def apply(self, plan: Plan, options: cloud.CloudOptions = cloud.CloudOptions()) -> None:
        self.write(plan.after)


class PulumiStack(StackFile):
    """A cloud stack: write the file, then preview, `pulumi up` and verify (canary.cloud)."""

    def __init__(self, name: str, project_dir: Path, select_stack=None, probe_for_region=None):
        super().__init__(name, project_dir)
        self.project_dir = project_dir
        self._select_stack = select_stack
        self._probe_for_region = probe_for_region or _sagemaker_probe

    def _stack(self):
        if self._select_stack is not None:
            return self._select_stack(self.name, self.project_dir)
        if shutil.which("pulumi") is None:
            raise ApplyError(MSG_NO_PULUMI.format(stack=self.name))
        missing = extras.missing_message("pulumi.automation", extras.AWS, f"canary on stack {self.name}")
        if missing:
            raise ApplyError(missing)
        from pulumi import automation

        try:
            return automation.select_stack(self.name, work_dir=str(self.project_dir))
        except FileNotFoundError:
            raise ApplyError(MSG_NO_PULUMI.format(stack=self.name)) from None

    def apply(self, plan: Plan, options: cloud.CloudOptions = cloud.CloudOptions()) -> None:
        automation = cloud.AutomationStack(self._stack())  # before touching the file: no CLI, no change
        config = stack_config.parse(plan.after)
        probe = self._probe_for_region(config.region)
        original = self.path.read_text(encoding="utf-8")
        self.write(plan.after)  # the preview reads the stack file
        try:
            cloud.run_step(automation, probe, config.endpoint.name, options,
                           confirm=lambda: click.confirm("apply this change?", default=False), say=click.echo,
                           canary_after=routing.canary_plan(config) is not None)
        except cloud.StepStopped as stopped:
            if not stopped.restore:
                raise ApplyError(str(stopped)) from None
            write_atomic(self.path, original)
            raise ApplyError(f"{stopped}; {self.path.name} restored") from None
        except Exception as error:  # click.Abort is Ctrl-C at the confirmation
            write_atomic(self.path, original)
            reason = cloud.MSG_DECLINED if isinstance(error, click.Abort) else f"the step failed: {error}"
            raise ApplyError(f"{reason}; {self.path.name} restored") from None


def _sagemaker_probe(region: str) -> cloud.EndpointProbe:
    import boto3

    return cloud.SageMakerProbe(boto3.client("sagemaker", region_name=region))


def for_stack(name: str, project_dir: Path) -> StackOps:
    return LocalStack(name, project_dir) if name == "local" else PulumiStack(name, project_dir)
