"""The `canary` command line: one clear line and a non-zero exit for every mistake; --dry-run
never touches the disk."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import click
import pytest

from canary import cli
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
    (["start", "v7", "--percent", "5", "--stack", "dev"], 1,
     "refused: v7 is not a configured model version (v1); add it under ratings:models and run `pulumi up` first"),
    (["--stack", "dev", "start", "v7", "--percent", "5"], 1, "refused: v7 is not a configured model version"),
    (["--stack", "dev", "start", "v1", "--percent", "5"], 1, "refused: v1 is already live"),
    (["start", "v2", "--percent", "5"], 1, "refused: a canary of v2 is already running"),
    (["--stack", "dev", "start", "v1"], 2, "Missing option '--percent'"),
    (["set", "--percent", "abc"], 2, "'abc' is not a number"),
    (["set", "--percent", "0"], 2, "percent: 0 is not a share of traffic; use a percent in (0, 100]"),
    (["--stack", "dev", "start", "v2", "--percent", "101"], 2, "percent: 101 is not a share of traffic"),
    (["--stack", "dev", "promote"], 1, "refused: no canary is running; nothing to promote"),
    (["--stack", "dev", "rollback"], 1, "refused: nothing to roll back"),
    (["retire", "v1"], 1, "refused: v1 is live"),
    (["--stack", "nope", "status"], 1, "stack file"),
    (["--stack", "broken", "status"], 1, "is not valid YAML"),
    (["run", "v2", "--stack", "dev", "--steps", "x"], 2, "'x' is not a comma-separated list of percents"),
    (["run", "v2", "--steps", "5,150"], 2, "percent: 150 is not a share of traffic"),
    (["run", "v3", "--dry-run"], 1, "refused: v3 is not a configured model version (v1, v2); add it under "
                                    "ratings:models in the stack file: the running local API starts its model server"),
    (["--stack", "dev", "run", "v1", "--dry-run"], 1, "refused: v1 is already live"),
    (["run"], 2, "give the VERSION to roll out, or --resume"),
    (["run", "--resume"], 1, "refused: no recorded run on stack local"),
    (["run", "v2", "--interval", "0s"], 2, "must be more than 0 s"),
    (["run", "v2", "--failure-limit", "-1"], 2, "--failure-limit"),
    (["run", "v2", "--bake", "soon"], 2, "'soon' is not a duration"),
    (["status", "--window", "10 minutes"], 2, "is not a duration"),
    (["promote"], 1, "cannot read http://127.0.0.1:"),
    (["--stack", "prod", "rollback"], 1, "the pulumi CLI is needed for stack prod"),
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


def test_a_promote_dry_run_without_metrics_shows_the_change_and_says_it_was_not_judged(project):
    """No local API running here, as no CloudWatch credentials on a laptop: the dry run still shows
    what promoting would change."""
    done = canary(project, "promote", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "dry run: the analysis was not computed (cannot read http://127.0.0.1:" in done.stdout
    assert "ratings:routing.live: v1 -> v2" in done.stdout and "dry run: nothing changed" in done.stdout


def test_dry_run_prints_the_planned_change_in_words_and_as_a_diff(project):
    done = canary(project, "set", "--percent", "30", "--dry-run")
    assert done.returncode == 0
    assert "ratings:routing.canary.percent: 10 -> 30" in done.stdout
    assert "-      percent: 10\n+      percent: 30\n" in done.stdout
    assert "Step(" not in done.stdout and "{'" not in done.stdout


@pytest.mark.parametrize("stack", ["local", "prod"])
def test_set_percent_changes_exactly_one_line_of_the_example_stack(project, stack):
    path = project / f"Pulumi.{stack}.yaml"
    before = path.read_text().splitlines()
    done = canary(project, "--stack", stack, "set", "--percent", "20", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)["diff"]
    assert [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")] == \
           ["-      percent: 10", "+      percent: 20"]
    if stack == "local":  # the local stack applies by writing the file
        assert canary(project, "set", "--percent", "20").returncode == 0
        after = path.read_text().splitlines()
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert changed == [("      percent: 10", "      percent: 20")]
        assert len(before) == len(after)


@pytest.mark.parametrize("args", [
    ["rollback", "--dry-run"], ["set", "--percent", "30", "--dry-run"], ["promote", "--force", "--dry-run"],
    ["--stack", "dev", "start", "v1", "--percent", "5", "--dry-run"], ["retire", "v2", "--dry-run"],
    ["run", "v2", "--steps", "5,50", "--bake", "1m", "--dry-run"], ["--stack", "broken", "status"],
    ["--stack", "prod", "retire", "v1", "--dry-run"], ["start", "v2", "--percent", "5", "--dry-run"],
    ["run", "v9", "--dry-run"], ["abort"], ["run", "--resume", "--dry-run"], ["promote", "--full"], ["pause"],
    ["resume"],
])
def test_every_command_speaks_json(project, args):
    """Success and refusal alike: one JSON document on standard output, the message on standard
    error, so a script in CI reads every outcome the same way."""
    done = canary(project, *args, "--json")
    assert "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    assert isinstance(document, dict)
    if done.returncode != 0:
        assert document["exitCode"] == done.returncode and done.stderr.startswith("Error: ")
        assert document["error"] in done.stderr


def test_a_change_as_json_names_the_routing_before_and_after(project):
    done = canary(project, "rollback", "--dry-run", "--json")
    data = json.loads(done.stdout)
    assert data["routing"]["before"]["canary"] == {"version": "v2", "percent": 10.0, "mode": "request"}
    assert data["routing"]["after"] == {"live": "v1", "previous": None, "canary": None}
    assert data["applied"] is False and data["command"] == "rollback"


def test_help_and_version():
    assert "Usage: canary" in canary(Path("."), "-h").stdout
    assert "Usage: canary run" in canary(Path("."), "run", "-h").stdout
    version = canary(Path("."), "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"canary {metadata.version('ratings-api')}"


def _options(group: click.Group):
    for name, command in group.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and "--help" not in param.opts:
                yield name, param


@pytest.mark.parametrize(("command", "option"), list(_options(cli.main)),
                         ids=[f"{c} {o.opts[0]}" for c, o in _options(cli.main)])
def test_every_option_has_help(command, option):
    assert option.help, f"canary {command} {option.opts[0]} has no help text"


def test_group_options_have_help():
    assert all(p.help for p in cli.main.params if isinstance(p, click.Option) and "--help" not in p.opts)
