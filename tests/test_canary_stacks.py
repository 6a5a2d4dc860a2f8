"""Applying plans: atomic comment-preserving rewrites, the lock, and `pulumi up` for cloud stacks."""

from __future__ import annotations

import difflib
import re
import shutil
import stat
import threading

import pytest

from canary import cloud, stacks
from core import plans as plan
from core import stack_file
from core.metrics import MetricsError
from tests.canary_fakes import QuietConsole
from tests.stacks import ROOT
from tests.test_canary_analysis import FakeClock

QUIET = QuietConsole()


@pytest.fixture
def project(tmp_path):
    for stack in ("local", "prod"):
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    return tmp_path


def _rollback_plan(stack: stacks.StackFile) -> plan.Plan:
    document = stack.read()
    return plan.written(document, plan.rollback(document.config))


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


@pytest.mark.parametrize(("stack", "percent", "line"), [
    ("local", 20, "      percent: 20"), ("prod", 20, "      percent: 20"), ("prod", 2.5, "      percent: 2.5"),
])
def test_setting_the_percent_rewrites_exactly_one_line(project, stack, percent, line):
    ops = stacks.LocalStack(stack, project)
    before = ops.path.read_text()
    document = ops.read()
    rewritten = plan.written(document, plan.set_percent(document.config, percent)).text
    assert _changed_lines(before, rewritten) == ["-       percent: 10", f"+ {line}"]


def test_a_rewrite_keeps_the_file_mode(project):
    stack = stacks.LocalStack("local", project)
    stack.path.chmod(0o644)
    stack.apply(_rollback_plan(stack), cloud.CloudOptions(), QUIET)
    assert stat.S_IMODE(stack.path.stat().st_mode) == 0o644


def test_retiring_a_version_removes_only_its_lines(project):
    stack = stacks.LocalStack("prod", project)
    document = stack.read()
    promoted = stack_file.parse(document.path, plan.written(document, plan.promote(document.config)).text)
    rewritten = plan.written(promoted, plan.retire(promoted.config, "v1")).text
    removed = [line[2:].strip() for line in _changed_lines(stack.path.read_text(), rewritten) if line[0] == "-"]
    added = [line[2:].strip() for line in _changed_lines(stack.path.read_text(), rewritten) if line[0] == "+"]
    assert added == ["defaultVariant: v2", "live: v2"]
    assert removed == ["- name: v1", "image: object2vec", "modelData: s3://my-ratings-models/object2vec/v1/model.tar.gz",
                       "instanceType: ml.m5.large", "instanceCount: 2", "live: v1", "canary:", "version: v2",
                       "percent: 10", "mode: request"]


def test_local_apply_rewrites_routing_and_keeps_comments(project):
    stack = stacks.LocalStack("local", project)
    stack.apply(_rollback_plan(stack), cloud.CloudOptions(), QUIET)
    text = stack.path.read_text()
    assert "# The embedded default" in text and "canary:" not in text
    assert stack.read().config.routing.canary is None
    assert [p.name for p in project.iterdir() if p.name.endswith(".tmp")] == []


class ServingAfter:
    """What a running local API serves: the stack file's routing before the change, the plan's
    after ``lag`` more reads (or never, with ``lag=None``); ``MetricsError`` when none runs."""

    def __init__(self, before, lag: int | None, running: bool = True):
        self.before, self.lag, self.running, self.reads = before, lag, running, 0

    def __call__(self, config):
        self.reads += 1
        if not self.running:
            raise MetricsError("cannot read http://127.0.0.1:8001/restapis/...: connection refused")
        if self.lag is not None and self.reads > self.lag:
            return config.routing
        return self.before


@pytest.mark.parametrize(("lag", "running", "waited"), [(0, True, False), (2, True, False), (20, True, True),
                                                         (None, False, False)])
def test_a_local_change_returns_once_the_running_api_serves_it(project, lag, running, waited):
    """A version just added to the file needs its model server started first; a command returns
    when the gateway serves the change (or at once when no local API runs)."""
    clock, console = FakeClock(), QuietConsole()
    served = ServingAfter(stacks.LocalStack("local", project).read().config.routing, lag, running)
    stack = stacks.LocalStack("local", project, served=served, clock=clock, sleep=clock.sleep)
    planned = _rollback_plan(stack)
    stack.apply(planned, cloud.CloudOptions(), console)
    assert stack.read().config.routing == planned.after.routing
    assert bool(console.said) is waited, console.said
    if waited:
        assert console.said == [stacks.MSG_WAITING.format(versions="v1")]


def test_a_local_change_the_running_api_never_serves_is_undone(project):
    clock = FakeClock()
    before = stacks.LocalStack("local", project).read()
    stack = stacks.LocalStack("local", project, served=ServingAfter(before.config.routing, lag=None),
                              clock=clock, sleep=clock.sleep)
    with pytest.raises(stacks.ApplyError, match="did not serve the change within 120 s"):
        stack.apply(_rollback_plan(stack), cloud.CloudOptions(), QuietConsole())
    assert stack.path.read_text() == before.text


class FakeStack:
    """``pulumi.automation.Stack`` with an empty preview; ``up`` fails on request."""

    def __init__(self, fail: bool = False):
        self.fail, self.ups = fail, 0

    def preview(self, on_event=None):
        return None

    def up(self, on_output=None):
        self.ups += 1
        if self.fail:
            raise RuntimeError("update failed: AccessDenied")
        return type("UpResult", (), {"outputs": {}})()


class InServiceProbe:
    def describe(self, endpoint_name):
        return cloud.EndpointState("ratings-prod-config-1234567", "InService", variants=("v1", "v2"))


def _cloud(project, fake: FakeStack) -> stacks.PulumiStack:
    return stacks.PulumiStack("prod", project, select_stack=lambda name, work_dir: fake,
                              probe_for_region=lambda region: InServiceProbe())


def test_cloud_apply_writes_the_file_then_runs_up(project):
    fake = FakeStack()
    stack = _cloud(project, fake)
    stack.apply(_rollback_plan(stack), cloud.CloudOptions(yes=True), QUIET)
    assert fake.ups == 1 and stack.read().config.routing.canary is None


def test_a_failed_up_restores_the_file(project):
    stack = _cloud(project, FakeStack(fail=True))
    before = stack.path.read_text()
    with pytest.raises(stacks.ApplyError,
                       match=re.escape("`pulumi up` failed: update failed: AccessDenied; Pulumi.prod.yaml restored")):
        stack.apply(_rollback_plan(stack), cloud.CloudOptions(yes=True), QUIET)
    assert stack.path.read_text() == before


def test_without_the_pulumi_cli_nothing_is_written(project, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    stack = stacks.PulumiStack("prod", project)
    before = stack.path.read_text()
    with pytest.raises(stacks.ApplyError, match="the pulumi CLI is needed for stack prod"):
        stack.apply(_rollback_plan(stack), cloud.CloudOptions(), QUIET)
    assert stack.path.read_text() == before


@pytest.mark.parametrize(("raised", "message"), [
    ("StackNotFoundError", "Pulumi has no stack prod in the backend you are logged in to; `pulumi stack ls`"),
    ("CommandError", "cannot select stack prod: PULUMI_ACCESS_TOKEN must be set for login during non-interactive "
                     "CLI sessions"),
])
def test_a_stack_that_cannot_be_selected_is_one_line_and_nothing_is_written(project, monkeypatch, raised, message):
    """What the Automation API raises (pulumi.automation.errors) with the CLI's own output inside."""
    from pulumi import automation
    from pulumi.automation._cmd import CommandResult

    output = CommandResult("", "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI "
                               "sessions\n", 255)

    def select_stack(name, work_dir):
        raise getattr(automation.errors, raised)(output)

    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(automation, "select_stack", select_stack)
    stack = stacks.PulumiStack("prod", project)
    before = stack.path.read_text()
    with pytest.raises(stacks.ApplyError) as raised_error:
        stack.apply(_rollback_plan(stack), cloud.CloudOptions(yes=True), QUIET)
    assert str(raised_error.value) == message or str(raised_error.value).startswith(message)
    assert "\n" not in str(raised_error.value) and stack.path.read_text() == before


def test_the_lock_serialises_commands(project):
    first, second = stacks.LocalStack("local", project), stacks.LocalStack("local", project)
    order: list[str] = []
    with first.locked():
        waiter = threading.Thread(target=lambda: (second.locked().__enter__(), order.append("second")))
        waiter.start()
        waiter.join(timeout=0.5)
        order.append("first done")
    waiter.join(timeout=5)
    assert order == ["first done", "second"]
