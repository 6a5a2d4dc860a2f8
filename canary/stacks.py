"""Applying a plan: the local stack file, or a cloud stack through Pulumi's Automation API.

Both hold a lock on the stack file for the whole read-plan-write, so two commands cannot
interleave, and rewrite it atomically with the text the plan rendered (comments kept). A cloud
stack then previews, gates, runs `pulumi up` and verifies the endpoint (canary.cloud); if any of
that stops the step the file is restored, so the file, Pulumi's state and AWS keep agreeing.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from canary import cloud
from core import extras, routing, stack_file
from core.config import StackConfig
from core.metrics import MetricsError
from core.plans import Plan
from core.routing import Routing
from core.stack_file import StackDocument

MSG_NO_PULUMI = ("the pulumi CLI is needed for stack {stack} (canary runs `pulumi up` and reads the stack's "
                 "outputs); install it from pulumi.com, or look at a change with --dry-run")
MSG_LOCKED = "{path} is locked by another canary command; try again"
MSG_NO_STACK = ("Pulumi has no stack {stack} in the backend you are logged in to; `pulumi stack ls` lists them, "
                "`pulumi stack init {stack}` creates it")
MSG_NOT_SELECTED = "cannot select stack {stack}: {reason}"
MSG_NO_PREVIEW = "no resource preview: {reason}"
MSG_WAITING = ("waiting for the running local API to serve it (model servers of {versions} up; one just added "
               "is started first) ...")
MSG_NOT_SERVED = ("the running local API did not serve the change within {seconds:.0f} s (its output says why); "
                  "{file} restored")
MSG_NO_OUTPUTS = "cannot read the outputs of stack {stack}: {reason}"


class ApplyError(RuntimeError):
    """A change that could not be applied; the stack file is as it was."""


class StackOps(Protocol):
    """A stack as `canary` changes it: read once, lock, apply a plan."""

    name: str
    path: Path

    def read(self) -> StackDocument: ...

    def locked(self) -> contextlib.AbstractContextManager[None]: ...

    def apply(self, plan: Plan, options: cloud.CloudOptions, console: cloud.Console) -> None: ...

    def record(self, plan: Plan) -> None:
        """Write ``plan`` to the stack file without deploying it: what was changed on the stage
        directly (canary.traffic) and what the stack leaves alone (the canary's share)."""
        ...

    def preview(self, plan: Plan, console: cloud.Console) -> None:
        """Say what applying ``plan`` would do to the resources (a dry run); change nothing."""
        ...


class StackFile:
    """``Pulumi.<stack>.yaml``: locked reads and atomic, comment-preserving rewrites."""

    def __init__(self, name: str, project_dir: Path):
        self.name = name
        self.path = stack_file.stack_path(name, project_dir)
        self._lock = FileLock(str(self.path) + ".lock", timeout=30)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except Timeout:
            raise ApplyError(MSG_LOCKED.format(path=self.path)) from None

    def read(self) -> StackDocument:
        return stack_file.read(self.path)

    def record(self, plan: Plan) -> None:
        stack_file.write(self.path, plan.text)


class LocalStack(StackFile):
    """The local runtime watches the file, so writing it is applying it. With ``served`` (what the
    running gateway serves, as GetStage tells it) a change waits until the gateway serves it: a
    version just added to the file is started by the running stack first, and a command that
    returns has changed the traffic. No local API running: the file is applied when it starts."""

    APPLY_TIMEOUT_S = 120.0  # a version added without an artifact is trained first (about a minute)
    SAY_AFTER_S = 1.0

    def __init__(self, name: str, project_dir: Path, served: Callable[[StackConfig], Routing] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        super().__init__(name, project_dir)
        self._served, self._clock, self._sleep = served, clock, sleep

    def apply(self, plan: Plan, options: cloud.CloudOptions, console: cloud.Console) -> None:
        stack_file.write(self.path, plan.text)
        if self._served is not None:
            self._await_served(self._served, plan, console)

    def _await_served(self, served_now: Callable[[StackConfig], Routing], plan: Plan, console: cloud.Console) -> None:
        started, said = self._clock(), False
        while True:
            try:
                served = served_now(plan.after)
            except MetricsError:
                return  # no local API answers: it reads the file when it starts
            if served.same_traffic(plan.after.routing):
                return
            waited = self._clock() - started
            if waited >= self.APPLY_TIMEOUT_S:
                stack_file.write(self.path, plan.document.text)
                raise ApplyError(MSG_NOT_SERVED.format(file=self.path.name, seconds=self.APPLY_TIMEOUT_S))
            if not said and waited >= self.SAY_AFTER_S:
                console.say(MSG_WAITING.format(versions=", ".join(routing.serving_versions(plan.after.routing))))
                said = True
            self._sleep(0.2)

    def preview(self, plan: Plan, console: cloud.Console) -> None:
        """The running local API applies the file as it is: the diff says everything."""


Probe = Callable[[str], cloud.EndpointProbe]


class PulumiStack(StackFile):
    """A cloud stack: write the file, then preview, `pulumi up` and verify (canary.cloud)."""

    def __init__(self, name: str, project_dir: Path, select_stack: Callable[[str, Path], Any] | None = None,
                 probe_for_region: Probe | None = None):
        super().__init__(name, project_dir)
        self.project_dir = project_dir
        self._select_stack = select_stack
        self._probe_for_region = probe_for_region or _sagemaker_probe

    def _stack(self) -> Any:
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
        except automation.errors.StackNotFoundError:
            raise ApplyError(MSG_NO_STACK.format(stack=self.name)) from None
        except automation.errors.CommandError as error:  # not logged in, a backend that cannot be read
            raise ApplyError(MSG_NOT_SELECTED.format(stack=self.name, reason=cloud.summary(error))) from None

    def apply(self, plan: Plan, options: cloud.CloudOptions, console: cloud.Console) -> None:
        automation = cloud.AutomationStack(self._stack(), console.say)  # before touching the file: no CLI, no change
        probe = self._probe_for_region(plan.after.region)
        try:
            cloud.run_step(automation, probe, cloud_step(plan, self.path.name), options, console,
                           lambda text: stack_file.write(self.path, text))
        except cloud.StepStopped as stopped:
            if not stopped.restore:
                raise ApplyError(str(stopped)) from None
            self._restore(plan)
            raise ApplyError(f"{stopped}; {self.path.name} restored") from None
        except Exception as error:  # noqa: BLE001  # whatever stopped the step, the file is put back
            self._restore(plan)
            raise ApplyError(f"the step failed: {error}; {self.path.name} restored") from None

    def output(self, name: str) -> Any:
        """One output of the stack as its last `pulumi up` left it (None when it has no such output)."""
        stack = self._stack()
        try:
            found = stack.outputs().get(name)
        except Exception as error:  # noqa: BLE001  # the Automation API's CommandError, or a backend error
            raise ApplyError(MSG_NO_OUTPUTS.format(stack=self.name, reason=cloud.summary(error))) from None
        return None if found is None else found.value

    def preview(self, plan: Plan, console: cloud.Console) -> None:
        """`pulumi preview` of the planned file, under the lock, with the file put back afterwards; a
        preview that cannot run is said in one line (the diff above still shows the change)."""
        try:
            automation = cloud.AutomationStack(self._stack(), console.say)
            with self.locked():
                stack_file.write(self.path, plan.text)  # the preview reads the stack file
                try:
                    cloud.show_preview(automation, console)
                finally:
                    self._restore(plan)
        except (ApplyError, cloud.StepStopped) as error:
            console.say(MSG_NO_PREVIEW.format(reason=error))

    def _restore(self, plan: Plan) -> None:
        stack_file.write(self.path, plan.document.text)


def cloud_step(plan: Plan, file_name: str) -> cloud.CloudStep:
    return cloud.CloudStep(plan.after.endpoint.name, tuple(phases(plan)), file_name,
                           canary_after=routing.canary_settings(plan.after.routing) is not None,
                           moves_traffic=not plan.before.routing.same_traffic(plan.after.routing))


def phases(plan: Plan) -> list[cloud.Phase]:
    """A step that sends traffic to a version that had none applies the stack as written first,
    so an endpoint change rides alone and is verified before any traffic reaches the version; a
    step that only takes traffic away (rollback, promote, a smaller share) is one `up`, so the
    candidate's traffic stops as soon as the stage is updated."""
    final = cloud.Phase(plan.text, routing.serving_versions(plan.after.routing))
    before = routing.serving_versions(plan.before.routing)
    if set(final.serving) <= set(before):
        return [final]
    return [cloud.Phase(plan.document.text, before), final]


def _sagemaker_probe(region: str) -> cloud.EndpointProbe:
    import boto3

    return cloud.SageMakerProbe(boto3.client("sagemaker", region_name=region))
