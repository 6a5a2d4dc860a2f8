"""The install: pins in one place, a local default without the deploy and SageMaker SDKs, and a
one-line hint from any command that needs an extra that is missing."""

from __future__ import annotations

import re
import tomllib

import pytest
from click.testing import CliRunner

from core import extras
from ratings.cli import main
from tests.stacks import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    return {_normal(NAME.match(line)[1]) for line in requirements if not line.startswith("ratings-api")}


def _pins() -> dict[str, str]:
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    return {_normal(line.split("==")[0]): line.split("==")[1] for line in lines if line and not line.startswith("#")}


def test_every_dependency_is_pinned_in_constraints():
    pinned = _pins()
    declared = _names(PROJECT["dependencies"]).union(*map(_names, PROJECT["optional-dependencies"].values()))
    assert declared - pinned.keys() == set(), "declared in pyproject.toml but not pinned in constraints.txt"


def test_the_local_default_installs_neither_pulumi_nor_the_sagemaker_sdks():
    base = _names(PROJECT["dependencies"])
    assert not base & {"pulumi", "pulumi-aws", "sagemaker-core", "sagemaker-train", "mlflow", "pytest", "moto"}
    assert {"pulumi", "pulumi-aws", "sagemaker-core"} <= _names(PROJECT["optional-dependencies"]["aws"])
    assert _names(PROJECT["optional-dependencies"]["sagemaker"]) == {"sagemaker-train"}


def test_pulumi_installs_the_aws_extra_at_the_same_pins():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert [line for line in lines if line] == ["-c constraints.txt", "-e .[aws]"]


def test_a_missing_extra_is_one_line_naming_it():
    message = extras.missing_message("no_such_module.inside", extras.SAGEMAKER, "ratings train --sagemaker")
    assert message == extras.MSG_MISSING.format(purpose="ratings train --sagemaker", extra="sagemaker")
    assert extras.missing_message("json", extras.AWS, "x") is None


@pytest.mark.parametrize("args, extra", [
    (["train", "--sagemaker", "--bucket", "b", "--role-arn", "arn:aws:iam::1:role/r"], "sagemaker"),
    (["package", "v1", "--artifacts", "nowhere"], "aws"),
])
def test_commands_say_which_extra_they_need(monkeypatch, args, extra):
    monkeypatch.setattr(extras, "installed", lambda module: False)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"needs the '{extra}' extra" in result.output and "Traceback" not in result.output


def test_canary_on_a_cloud_stack_without_the_aws_extra_changes_nothing(monkeypatch, tmp_path):
    import shutil

    from canary import stacks

    (tmp_path / "Pulumi.prod.yaml").write_text((ROOT / "Pulumi.prod.yaml").read_text())
    before = (tmp_path / "Pulumi.prod.yaml").read_bytes()
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")  # a pulumi CLI is there
    monkeypatch.setattr(extras, "installed", lambda module: False)  # but not the Python SDK
    with pytest.raises(stacks.ApplyError) as raised:
        stacks.PulumiStack("prod", tmp_path)._stack()
    assert "needs the 'aws' extra" in str(raised.value)
    assert (tmp_path / "Pulumi.prod.yaml").read_bytes() == before
