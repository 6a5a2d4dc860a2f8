"""`canary --stack prod` against the AWS behaviour model (tests/aws/): the real CLI, the real
Automation seam and a real boto3 SageMaker client, with AWS's own behaviour and its faults."""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner

from canary import cli, cloud, stacks
from canary.backends import CloudBackend
from tests.aws import clients
from tests.aws.pulumi_engine import MODEL, ModelledStack, UpFailed
from tests.aws.sagemaker import SageMaker
from tests.stacks import ROOT

# a cloud stack's run is held in SSM Parameter Store (canary/run_registry.py), here under moto
pytestmark = pytest.mark.usefixtures("moto_ssm")

ENDPOINT = "ratings-prod"
HEALTH_CHECK = "The primary container for production variant v3 did not pass the ping health check."


class Aws:
    """One account: SageMaker, and the prod stack deployed from its file by a first `pulumi up`."""

    def __init__(self, project, create_fails: str | None = None):
        self.project, self.path = project, project / "Pulumi.prod.yaml"
        self.sagemaker = SageMaker()
        self.sagemaker.faults.create_fails = create_fails
        self.stack = ModelledStack(project, "prod", self.sagemaker)
        try:
            self.stack.up()
        except UpFailed:
            assert create_fails, "only a failing create fails the first deploy"

    def canary(self, monkeypatch, *args: str):
        def for_stack(name, project_dir):
            probe = cloud.SageMakerProbe(clients.client("sagemaker", self.sagemaker.handlers()))
            return CloudBackend(stacks.PulumiStack(name, project_dir, select_stack=lambda n, d: self.stack,
                                                   probe_for_region=lambda region: probe))

        monkeypatch.setattr(cli, "for_stack", for_stack)
        return CliRunner().invoke(cli.main, ["--project-dir", str(self.project), "--stack", "prod", *args])

    def add_version(self, version: str) -> None:
        """The user lists a new version in the stack file (the next step deploys it)."""
        document = yaml.safe_load(self.path.read_text())
        models = document["config"]["ratings:models"]
        models.append({**models[-1], "name": version,
                       "modelData": f"s3://my-ratings-models/object2vec/{version}/model.tar.gz"})
        self.path.write_text(yaml.safe_dump(document, sort_keys=False))

    def running_variants(self) -> list[str]:
        return [variant["VariantName"] for variant in self.sagemaker.endpoints[ENDPOINT].variants]

    def stage(self) -> dict:
        """The stage as API Gateway holds it."""
        (stage,) = self.stack.apigateway.stages.values()
        return stage

    def stage_canary(self):
        return self.stage().get("canarySettings")


@pytest.fixture
def aws(tmp_path):
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    del document["config"]["ratings:routing"]["canary"]  # live v1, no canary: the state after a promotion
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return Aws(tmp_path)


def test_a_new_version_is_deployed_and_gets_its_canary(aws, monkeypatch):
    aws.add_version("v3")
    result = aws.canary(monkeypatch, "start", "v3", "--percent", "10", "--yes")
    assert result.exit_code == 0, result.output
    assert aws.running_variants() == ["v1", "v2", "v3"]
    assert aws.stage_canary()["stageVariableOverrides"] == {"variant": "v3"}


def test_an_update_sagemaker_rolls_back_stops_the_step_before_the_stage_routes_to_it(aws, monkeypatch):
    aws.add_version("v3")
    before = aws.path.read_text()
    aws.sagemaker.faults.update_fails = HEALTH_CHECK
    result = aws.canary(monkeypatch, "start", "v3", "--percent", "10", "--yes")
    assert result.exit_code != 0
    assert "SageMaker rolled the update back" in result.output and "ping health check" in result.output
    assert aws.path.read_text() == before, "the stack file is as it was"
    assert aws.running_variants() == ["v1", "v2"]
    assert aws.stage_canary() is None, "no traffic is sent to a variant the endpoint does not have"


def test_a_second_try_after_a_rollback_says_it_tries_the_update_again(aws, monkeypatch):
    aws.add_version("v3")
    aws.sagemaker.faults.update_fails = HEALTH_CHECK
    assert aws.canary(monkeypatch, "start", "v3", "--percent", "10", "--yes").exit_code != 0
    result = aws.canary(monkeypatch, "start", "v3", "--percent", "10", "--yes")
    assert result.exit_code == 0, result.output
    assert "the last update of endpoint ratings-prod failed (The primary container" in result.output
    assert aws.running_variants() == ["v1", "v2", "v3"] and aws.stage_canary() is not None


def test_retiring_a_version_removes_its_variant_and_its_model(aws, monkeypatch):
    result = aws.canary(monkeypatch, "retire", "v2", "--yes")
    assert result.exit_code == 0, result.output
    assert aws.running_variants() == ["v1"]
    assert sorted(aws.sagemaker.models) == ["ratings-prod-v1-" + _suffix(aws, "ratings-prod-v1")]
    assert len(aws.sagemaker.configs) == 1, "the replaced configuration is deleted after the swap"


def test_a_retire_sagemaker_rolls_back_restores_the_file(aws, monkeypatch):
    before = aws.path.read_text()
    aws.sagemaker.faults.update_fails = "Insufficient capacity for ml.m5.large in eu-west-1a."
    result = aws.canary(monkeypatch, "retire", "v2", "--yes")
    assert result.exit_code == 1
    assert "SageMaker rolled the update back: endpoint ratings-prod runs" in result.output
    assert "(v1, v2)" in result.output and "Insufficient capacity" in result.output
    assert aws.path.read_text() == before
    assert aws.running_variants() == ["v1", "v2"], "v2 keeps serving whoever targets it"


def test_promoting_moves_only_the_stage(aws, monkeypatch):
    assert aws.canary(monkeypatch, "start", "v2", "--percent", "10", "--yes").exit_code == 0
    calls = len(aws.sagemaker.calls)
    result = aws.canary(monkeypatch, "promote", "--force", "--yes")
    assert result.exit_code == 0, result.output
    assert [c for c in aws.sagemaker.calls[calls:] if c != "DescribeEndpoint"] == [], "no endpoint update"
    assert aws.stage_canary() is None and aws.stage()["variables"]["variant"] == "v2"
    promotion = aws.stack.apigateway.updates[-1]
    assert {"op": "remove", "path": "/canarySettings"} in promotion, "stage.go removes the canary as a whole"


def test_a_rollback_takes_the_canary_off_the_stage(aws, monkeypatch):
    assert aws.canary(monkeypatch, "start", "v2", "--percent", "10", "--yes").exit_code == 0
    result = aws.canary(monkeypatch, "rollback", "--yes")
    assert result.exit_code == 0, result.output
    assert aws.stage_canary() is None and aws.stage()["variables"]["variant"] == "v1"
    assert "canary" not in yaml.safe_load(aws.path.read_text())["config"]["ratings:routing"]


def test_a_canary_reaches_api_gateway_as_the_provider_patches_it(aws, monkeypatch):
    """stage.go sends a new canary as patch operations on a stage that has none; API Gateway
    then holds the share, the override and the stage's deployment."""
    assert aws.canary(monkeypatch, "start", "v2", "--percent", "12.5", "--yes").exit_code == 0
    operations = aws.stack.apigateway.updates[-1]
    assert {"op": "replace", "path": "/canarySettings/stageVariableOverrides/variant", "value": "v2"} in operations
    assert {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "12.500000"} in operations
    canary = aws.stage_canary()
    assert (canary["percentTraffic"], canary["stageVariableOverrides"]) == (12.5, {"variant": "v2"})
    assert canary["deploymentId"] == aws.stage()["deploymentId"]


def test_a_failed_first_create_is_named_with_its_fix(tmp_path, monkeypatch):
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path)
    aws = Aws(tmp_path, create_fails="The role lacks permission to pull the image.")
    assert aws.sagemaker.endpoints[ENDPOINT].status == "Failed"
    before = aws.path.read_text()
    result = aws.canary(monkeypatch, "rollback", "--yes")
    assert result.exit_code == 1
    assert ("refused: endpoint ratings-prod already exists in SageMaker (Failed: The role lacks permission to pull "
            "the image.) but Pulumi's state does not have it") in result.output
    assert "aws sagemaker delete-endpoint --endpoint-name ratings-prod" in result.output
    assert aws.path.read_text() == before and aws.sagemaker.calls.count("CreateEndpoint") == 1


def test_a_throttled_check_says_the_change_stands_unchecked(aws, monkeypatch):
    aws.sagemaker.faults.throttled_describes = 10
    result = aws.canary(monkeypatch, "retire", "v2", "--yes")
    assert result.exit_code == 1
    assert "applied, but DescribeEndpoint failed" in result.output and "ThrottlingException" in result.output
    assert "v2" not in [m["name"] for m in yaml.safe_load(aws.path.read_text())["config"]["ratings:models"]], \
        "Pulumi applied it: the file keeps the change"


def _suffix(aws: Aws, logical: str) -> str:
    return aws.stack.state[(MODEL, logical)].outputs["name"].rsplit("-", 1)[1]


def test_a_dry_run_previews_the_real_plan_and_leaves_aws_and_the_file_alone(aws, monkeypatch):
    aws.add_version("v3")
    before, calls = aws.path.read_bytes(), len(aws.sagemaker.calls)
    result = aws.canary(monkeypatch, "start", "v3", "--percent", "10", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+ create             aws:sagemaker/model:Model  ratings-prod-v3" in result.output
    assert "~ update             aws:sagemaker/endpoint:Endpoint  ratings-prod-endpoint" in result.output
    assert aws.path.read_bytes() == before and aws.sagemaker.calls[calls:] == [] and aws.stack.ups == 1
