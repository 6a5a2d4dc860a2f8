"""The `canary` command line: one clear line and a non-zero exit for every mistake; --dry-run
never touches the disk."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stacks import ROOT

CANARY = str(Path(sys.executable).with_name("canary"))


@pytest.fixture
def project(tmp_path):
    for stack in ("local", "prod", "dev"):
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  ratings:routing: [\n")
    return tmp_path


def canary(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CANARY, "--project-dir", str(project), *args], capture_output=True, text=True,
                          timeout=120)


BAD = [
    (["start", "v7", "--percent", "5", "--stack", "dev"], 1, "refused: v7 is not a configured model version"),
    (["--stack", "dev", "start", "v7", "--percent", "5"], 1, "refused: v7 is not a configured model version"),
    (["--stack", "dev", "start", "v1", "--percent", "5"], 1, "refused: v1 is already live"),
    (["start", "v2", "--percent", "5"], 1, "refused: a canary of v2 is already running"),
    (["--stack", "dev", "start", "v1"], 2, "Missing option '--percent'"),
    (["set", "--percent", "abc"], 2, "'abc' is not a valid float"),
    (["--stack", "dev", "promote"], 1, "refused: no canary is running; nothing to promote"),
    (["--stack", "dev", "rollback"], 1, "refused: nothing to roll back"),
    (["retire", "v1"], 1, "refused: v1 is live"),
    (["--stack", "nope", "status"], 1, "stack file"),
    (["--stack", "broken", "status"], 1, "is not valid YAML"),
    (["run", "v2", "--bake", "soon", "--stack", "dev", "--steps", "x"], 2,
     "'x' is not a comma-separated list of percents"),
    (["run", "v2", "--steps", "5,150"], 2, "every step must be a percent in (0, 100]"),
    (["run", "v2", "--bake", "soon"], 2, "'soon' is not a duration"),
    (["status", "--window", "10 minutes"], 2, "is not a duration"),
    (["promote"], 1, "cannot read http://127.0.0.1:"),
    (["--stack", "prod", "rollback"], 1, "the pulumi CLI is needed to apply changes to stack prod"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(a)[:40] for a, _, _ in BAD])
def test_bad_invocations(project, args, code, message, monkeypatch):
    done = canary(project, *args)
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def _digests(project: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in project.iterdir() if p.is_file()}


@pytest.mark.parametrize("args", [
    ["rollback", "--dry-run"], ["set", "--percent", "30", "--dry-run"], ["promote", "--force", "--dry-run"],
    ["--stack", "dev", "start", "v1", "--percent", "5", "--dry-run"],
    ["--stack", "prod", "rollback", "--dry-run"], ["retire", "v2", "--dry-run"],
    ["run", "v2", "--steps", "5,50", "--bake", "1m", "--dry-run"],
])
def test_dry_runs_change_nothing_on_disk(project, args):
    before = _digests(project)
    done = canary(project, *args)
    assert "Traceback" not in done.stderr
    assert _digests(project) == before
    if done.returncode == 0:
        assert "dry run: nothing changed" in done.stdout


def test_dry_run_prints_the_planned_change(project):
    done = canary(project, "set", "--percent", "30", "--dry-run")
    assert done.returncode == 0
    assert "'percent': 10" in done.stdout and "'percent': 30.0" in done.stdout
