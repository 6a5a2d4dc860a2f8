"""`ratings openapi`: writes the stack's document, or one clear error and a non-zero exit."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from core import openapi
from ratings.cli import main
from tests.stacks import ROOT


@pytest.fixture
def project(tmp_path):
    for stack in ("dev", "prod"):
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  ratings:models: [\n")
    (tmp_path / "Pulumi.invalid.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "Pulumi.empty.yaml").write_text("encryptionsalt: x\n")
    return tmp_path


def test_writes_the_document_of_the_stack(project):
    out = project / "openapi.json"
    result = CliRunner().invoke(main, ["openapi", "--stack", "prod", "--project-dir", str(project),
                                       "-o", str(out), "--role-arn", "arn:aws:iam::1:role/r"])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    integration = document["paths"][openapi.RESOURCE_PATH]["get"]["x-amazon-apigateway-integration"]
    assert integration["credentials"] == "arn:aws:iam::1:role/r"
    assert "ratings-prod" in integration["uri"]
    assert [p.name for p in project.iterdir() if p.name.endswith(".tmp")] == []


def test_standard_output(project):
    result = CliRunner().invoke(main, ["openapi", "--stack", "dev", "--project-dir", str(project), "-o", "-"])
    assert result.exit_code == 0
    assert json.loads(result.output)["openapi"] == "3.0.1"


@pytest.mark.parametrize(("args", "message"), [
    (["--stack", "nope"], "stack file"),
    (["--stack", "broken"], "is not valid YAML"),
    (["--stack", "empty"], "has no 'config:' mapping"),
    (["--stack", "invalid"], "models: at least one model version is needed"),
    (["--stack", "dev", "-o", "/nonexistent-dir/openapi.json"], "cannot write /nonexistent-dir/openapi.json"),
])
def test_errors_are_one_clear_message(project, args, message):
    result = CliRunner().invoke(main, ["openapi", "--project-dir", str(project), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_console_script_reports_errors_without_traceback(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("ratings")
    done = subprocess.run([str(script), "openapi", "--stack", "missing", "--project-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: stack file {tmp_path}/Pulumi.missing.yaml not found; " \
                                  "create it or pass --stack with an existing stack"


def test_the_default_stack_is_local_as_for_every_command(project):
    shutil.copy(ROOT / "Pulumi.local.yaml", project)
    result = CliRunner().invoke(main, ["openapi", "--project-dir", str(project), "-o", "-"])
    assert result.exit_code == 0, result.output
    integration = json.loads(result.output)["paths"][openapi.RESOURCE_PATH]["get"]["x-amazon-apigateway-integration"]
    assert "ratings-local" in integration["uri"]


def test_help_is_also_dash_h_for_every_command():
    for args in ([], ["openapi"], ["local", "up"], ["iam-policy"]):
        result = CliRunner().invoke(main, [*args, "-h"], prog_name="ratings")
        assert result.exit_code == 0 and result.output.startswith("Usage: ratings"), (args, result.output)


def test_the_stack_is_taken_before_the_command_as_after_it(project):
    """As the README says of every command (and as `canary` does)."""
    before = CliRunner().invoke(main, ["--stack", "prod", "openapi", "--project-dir", str(project), "-o", "-"])
    after = CliRunner().invoke(main, ["openapi", "--stack", "prod", "--project-dir", str(project), "-o", "-"])
    assert before.exit_code == after.exit_code == 0, before.output
    assert before.stdout == after.stdout and "ratings-prod" in before.stdout
