"""Cloud stacks: the preview gate, confirmation, and the DescribeEndpoint check after `up`.

Pulumi's Automation API is faked at the ``pulumi.automation.Stack`` surface the adapter uses
(``preview(on_event=...)`` with real EngineEvent objects, ``up(...)`` with OutputValues);
SageMaker is botocore's Stubber on a real client, so responses are validated against the
service model.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner
from pulumi.automation import OutputValue
from pulumi.automation.events import EngineEvent, OpType, ResourcePreEvent, StepEventMetadata

from canary import cli, cloud, stacks
from canary.backends import CloudBackend
from tests.canary_fakes import QuietConsole
from tests.stacks import ROOT

# a cloud stack's run is held in SSM Parameter Store (canary/run_registry.py), here under moto
pytestmark = pytest.mark.usefixtures("moto_ssm")

ENDPOINT_TYPE = "aws:sagemaker/endpoint:Endpoint"
CONFIG_TYPE = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
STAGE_TYPE = "aws:apigateway/stage:Stage"
URN = "urn:pulumi:prod::ratings::ratings:model_endpoint:ModelEndpoint${type}::{name}"
OLD_CONFIG, NEW_CONFIG = "ratings-prod-config-1111111", "ratings-prod-config-2222222"


def _event(op: OpType, token: str, name: str) -> EngineEvent:
    metadata = StepEventMetadata(op=op, urn=URN.format(type=token, name=name), type=token, provider="aws")
    return EngineEvent(sequence=1, timestamp=0, resource_pre_event=ResourcePreEvent(metadata))


class FakePulumiStack:
    """The part of ``pulumi.automation.Stack`` that ``canary`` uses."""

    def __init__(self, planned: list[tuple[OpType, str, str]], config_after_up: str = NEW_CONFIG):
        self.planned, self.config_after_up, self.ups = planned, config_after_up, 0

    def preview(self, on_event=None):
        for op, token, name in self.planned:
            on_event(_event(op, token, name))

    def up(self, on_output=None):
        self.ups += 1
        if on_output is not None:  # what `pulumi up` prints as it goes
            on_output("Updating (prod):\n    ~  aws:apigateway:Stage ratings-prod-api-stage updating")
        return type("UpResult", (), {"outputs": {cloud.CONFIG_OUTPUT: OutputValue(self.config_after_up, False)}})()


def _describe(config: str, status: str = "InService", reason: str | None = None, desired: int = 1) -> dict:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    response = {"EndpointName": "ratings-prod", "EndpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/x",
                "EndpointConfigName": config, "EndpointStatus": status, "CreationTime": now, "LastModifiedTime": now,
                "ProductionVariants": [{"VariantName": "v1", "CurrentInstanceCount": desired,
                                        "DesiredInstanceCount": desired},
                                       {"VariantName": "v2", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}]}
    if reason:
        response["FailureReason"] = reason
    return response


def _probe(*responses: dict):
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for response in responses:
        stubber.add_response("describe_endpoint", response, {"EndpointName": "ratings-prod"})
    stubber.activate()
    return cloud.SageMakerProbe(client), stubber


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path)
    return tmp_path


class MovedShares:
    """The stage's direct share moves (canary.traffic), recorded instead of sent."""

    def __init__(self):
        self.moves: list[tuple[str, float]] = []

    def set_share(self, canary, percent):
        self.moves.append((canary.version, percent))
        return True

    def stop(self, canary):
        self.moves.append((canary.version, 0.0))


def _cli(project, monkeypatch, fake: FakePulumiStack, probe, *args: str, shares: MovedShares | None = None):
    moved = shares or MovedShares()

    class Backend(CloudBackend):
        def traffic(self, config):
            return moved

    def for_stack(name, project_dir):
        return Backend(stacks.PulumiStack(name, project_dir, select_stack=lambda n, d: fake,
                                          probe_for_region=lambda r: probe))

    monkeypatch.setattr(cli, "for_stack", for_stack)
    return CliRunner().invoke(cli.main, ["--project-dir", str(project), "--stack", "prod", *args])


def test_a_preview_that_replaces_the_endpoint_is_refused_and_nothing_changes(project, monkeypatch):
    fake = FakePulumiStack([(OpType.REPLACE, ENDPOINT_TYPE, "ratings-prod-endpoint"),
                            (OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, _ = _probe()
    before = (project / "Pulumi.prod.yaml").read_text()
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--yes")
    assert result.exit_code == 1
    assert "+- replace" in result.output and "ratings-prod-endpoint" in result.output
    assert "refused: the preview would replace the endpoint ratings-prod-endpoint" in result.output
    assert fake.ups == 0 and (project / "Pulumi.prod.yaml").read_text() == before


def test_allow_replace_accepts_the_outage(project, monkeypatch):
    fake = FakePulumiStack([(OpType.REPLACE, ENDPOINT_TYPE, "ratings-prod-endpoint")])
    probe, _ = _probe(_describe(OLD_CONFIG), _describe(NEW_CONFIG))
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--yes", "--allow-replace")
    assert result.exit_code == 0, result.output
    assert fake.ups == 1 and "applied" in result.output


def test_a_rolled_back_update_is_reported_and_an_applied_rollback_is_kept(project, monkeypatch):
    """`canary rollback` whose `up` also carries an endpoint update: the stage loses its canary once
    the endpoint's update ends, rolled back or not (the RestApi's document waits on the endpoint),
    so the file keeps the rollback it applied, and the rolled-back update is reported."""
    fake = FakePulumiStack([(OpType.UPDATE, ENDPOINT_TYPE, "ratings-prod-endpoint"),
                            (OpType.CREATE_REPLACEMENT, CONFIG_TYPE, "ratings-prod-config")])
    probe, stubber = _probe(_describe(OLD_CONFIG),
                            _describe(OLD_CONFIG, reason="Variant v2 failed the ping health check"))
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--yes")
    assert result.exit_code == 1
    assert (f"SageMaker rolled the update back: endpoint ratings-prod runs {OLD_CONFIG} (v1, v2), not {NEW_CONFIG} "
            "(Variant v2 failed the ping health check)") in result.output
    assert "the routing change was applied before the endpoint's update ended, so Pulumi.prod.yaml keeps it" \
        in result.output
    assert stacks.PulumiStack("prod", project).read().config.routing.canary is None
    stubber.assert_no_pending_responses()


def test_a_dry_run_on_a_cloud_stack_shows_pulumis_plan_and_changes_nothing(project, monkeypatch):
    fake = FakePulumiStack([(OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, _ = _probe()
    before = (project / "Pulumi.prod.yaml").read_bytes()
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "preview:" in result.output and "~ update             aws:apigateway/stage:Stage" in result.output
    assert fake.ups == 0 and (project / "Pulumi.prod.yaml").read_bytes() == before


def test_json_keeps_stdout_one_document_on_a_cloud_step(project, monkeypatch):
    """The preview, Pulumi's own output and every message go to standard error under --json."""
    fake = FakePulumiStack([(OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, stubber = _probe(_describe(NEW_CONFIG), _describe(NEW_CONFIG))
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--yes", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # the whole of stdout, or this raises
    assert (document["command"], document["applied"]) == ("rollback", True)
    assert document["routing"]["after"]["canary"] is None
    assert "preview:" in result.stderr and "Updating (prod)" in result.stderr
    assert fake.ups == 1
    stubber.assert_no_pending_responses()


SECRET_WEBHOOK = "    webhook:\n      secure: v1:AAABAKDDw1yC8iO+ua7o5q7fXhVN0p0Gk6Hc5wN2yv8=\n"


def test_a_stack_with_a_secret_webhook_works_with_every_command(project, monkeypatch):
    """`pulumi config set --secret --path ratings:notifications.webhook ...` stores {secure: ...}:
    every command reads past it, and every rewrite leaves it byte for byte."""
    path = project / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("  ratings:notifications:\n",
                                             "  ratings:notifications:\n" + SECRET_WEBHOOK))
    fake = FakePulumiStack([(OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, _ = _probe(*[_describe(NEW_CONFIG)] * 8)
    for args in (["set", "--percent", "20", "--yes"], ["promote", "--force", "--yes"], ["rollback", "--yes"],
                 ["start", "v2", "--percent", "5", "--dry-run"], ["run", "v2", "--dry-run"],
                 ["retire", "v2", "--yes"]):
        result = _cli(project, monkeypatch, fake, probe, *args)
        assert result.exit_code == 0, (args, result.output)
        assert SECRET_WEBHOOK in path.read_text(), args
    assert fake.ups == 3, "set moves the share on the stage; promote, rollback and retire update the stack"


def test_a_verified_step_keeps_the_new_file(project, monkeypatch):
    fake = FakePulumiStack([(OpType.SAME, ENDPOINT_TYPE, "ratings-prod-endpoint"),
                            (OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, _ = _probe(_describe(NEW_CONFIG), _describe(NEW_CONFIG))
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--yes")
    assert result.exit_code == 0, result.output
    assert "ratings-prod-endpoint" not in result.output, "unchanged resources stay out of the plan"
    assert stacks.PulumiStack("prod", project).read().config.routing.canary is None


def test_without_a_terminal_or_yes_nothing_is_applied(project, monkeypatch):
    fake = FakePulumiStack([(OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, _ = _probe()
    before = (project / "Pulumi.prod.yaml").read_text()
    result = _cli(project, monkeypatch, fake, probe, "rollback")
    assert result.exit_code == 1 and cloud.MSG_NOT_A_TERMINAL in result.output
    assert fake.ups == 0 and (project / "Pulumi.prod.yaml").read_text() == before


class Answering(QuietConsole):
    def __init__(self, answer: bool):
        super().__init__()
        self.answer = answer

    def confirm(self, question: str) -> bool:
        return self.answer


@pytest.mark.parametrize(("answer", "ups"), [(True, 1), (False, 0)])
def test_a_terminal_user_confirms_or_declines(answer, ups):
    fake = FakePulumiStack([(OpType.UPDATE, STAGE_TYPE, "s")], config_after_up=OLD_CONFIG)
    probe, _ = _probe(*([_describe(OLD_CONFIG)] * 2 * ups))
    console = Answering(answer)
    written: list[str] = []
    step = cloud.CloudStep("ratings-prod", (cloud.Phase("the file", ("v1",)),), "Pulumi.prod.yaml")
    run = lambda: cloud.run_step(cloud.AutomationStack(fake, console.say), probe, step,  # noqa: E731
                                 cloud.CloudOptions(interactive=True), console, written.append)
    if answer:
        run()
    else:
        with pytest.raises(cloud.StepStopped, match=cloud.MSG_DECLINED):
            run()
    assert fake.ups == ups


@pytest.mark.parametrize(("ops", "refused"), [
    ([(OpType.REPLACE, ENDPOINT_TYPE, "e")], "replace the endpoint e"),
    ([(OpType.DELETE, "aws:apigateway/restApi:RestApi", "api")], "delete the API api"),
    ([(OpType.DELETE_REPLACED, STAGE_TYPE, "st")], "delete-replaced the stage st"),
    ([(OpType.REPLACE, CONFIG_TYPE, "c"), (OpType.DELETE, "aws:sagemaker/model:Model", "m")], None),
    ([(OpType.UPDATE, ENDPOINT_TYPE, "e"), (OpType.UPDATE, STAGE_TYPE, "st")], None),
])
def test_only_destroying_the_endpoint_api_or_stage_is_refused(ops, refused):
    steps = cloud.AutomationStack(FakePulumiStack(ops), print).preview()
    harmful = cloud.destructive(steps)
    if refused is None:
        assert harmful == []
    else:
        assert refused in cloud.refusal(harmful)


@pytest.mark.parametrize(("state", "changed", "problem"), [
    (cloud.EndpointState(NEW_CONFIG, "InService"), True, None),
    (cloud.EndpointState(NEW_CONFIG, "InService", "an earlier update failed"), False, None),
    (cloud.EndpointState(NEW_CONFIG, "InService", "variant v3: health check failed"), True,
     cloud.MSG_UPDATE_FAILED.format(endpoint="e", reason="variant v3: health check failed")),
    (cloud.EndpointState(OLD_CONFIG, "InService", "health check failed"), True,
     cloud.MSG_ROLLED_BACK.format(endpoint="e", running=OLD_CONFIG, expected=NEW_CONFIG, reason="health check failed",
                                  variants="no variant")),
    (cloud.EndpointState(NEW_CONFIG, "Failed", "capacity"), True,
     cloud.MSG_NOT_IN_SERVICE.format(endpoint="e", status="Failed", reason="capacity")),
    (None, True, cloud.MSG_MISSING.format(endpoint="e")),
])
def test_verify_compares_the_running_configuration_with_pulumis(state, changed, problem):
    assert cloud.verify("e", NEW_CONFIG, state, changed) == problem


@pytest.mark.parametrize(("before", "after", "command"), [
    ({"v1": 4, "v2": 1}, {"v1": 2, "v2": 1}, "--desired-weights-and-capacities VariantName=v1,DesiredInstanceCount=4"),
    ({"v1": 2}, {"v1": 2, "v3": 1}, None),
])
def test_an_autoscaling_reset_comes_with_the_command_that_restores_it(before, after, command):
    result = cloud.capacity_restore_command("e", cloud.EndpointState(OLD_CONFIG, "InService", "", before),
                                            cloud.EndpointState(NEW_CONFIG, "InService", "", after))
    if command is None:
        assert result is None
    else:
        assert result.endswith(command) and "update-endpoint-weights-and-capacities --endpoint-name e" in result


def test_the_probe_reads_describe_endpoint_and_treats_a_missing_endpoint_as_none():
    probe, stubber = _probe(_describe(NEW_CONFIG, desired=3))
    stubber.add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint",
                             expected_params={"EndpointName": "ratings-prod"})
    assert probe.describe("ratings-prod") == cloud.EndpointState(NEW_CONFIG, "InService", "", {"v1": 3, "v2": 1},
                                                                 ("v1", "v2"))
    assert probe.describe("ratings-prod") is None


class BrokenPreview(FakePulumiStack):
    """The Automation API raises a CommandError holding the CLI's whole output."""

    def preview(self, on_event=None):
        from pulumi.automation import errors
        from pulumi.automation._cmd import CommandResult

        raise errors.CommandError(CommandResult("Previewing update (prod):\n", "error: no credentials\n", 255))


def test_a_failed_preview_changes_nothing(project, monkeypatch):
    probe, _ = _probe()
    before = (project / "Pulumi.prod.yaml").read_text()
    result = _cli(project, monkeypatch, BrokenPreview([]), probe, "rollback", "--yes")
    assert result.exit_code == 1
    assert "`pulumi preview` failed: no credentials; Pulumi.prod.yaml restored" in result.output
    assert "code: 255" not in result.output, "one line, not the CLI's whole output"
    assert (project / "Pulumi.prod.yaml").read_text() == before


def test_an_applied_step_that_cannot_be_checked_keeps_the_file_and_says_so(project, monkeypatch):
    fake = FakePulumiStack([(OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, stubber = _probe(_describe(NEW_CONFIG))
    stubber.add_client_error("describe_endpoint", "AccessDeniedException", "not authorized",
                             expected_params={"EndpointName": "ratings-prod"})
    result = _cli(project, monkeypatch, fake, probe, "rollback", "--yes")
    assert result.exit_code == 1 and "applied, but DescribeEndpoint failed" in result.output
    assert stacks.PulumiStack("prod", project).read().config.routing.canary is None, \
        "Pulumi's state has the change, so the file keeps it"


DEPLOYMENT_TYPE = "aws:apigateway/deployment:Deployment"


def test_a_new_deployment_under_a_running_canary_is_refused_and_nothing_changes(project, monkeypatch):
    """An API edit not yet applied rides along with `canary start`: the stage would get its canary
    while moving to a new deployment, which API Gateway refuses (developer guide, "Set up an API
    Gateway canary release deployment")."""
    fake = FakePulumiStack([(OpType.CREATE_REPLACEMENT, DEPLOYMENT_TYPE, "ratings-prod-api-deployment"),
                            (OpType.UPDATE, STAGE_TYPE, "ratings-prod-api-stage")])
    probe, _ = _probe()
    path = project / "Pulumi.prod.yaml"
    canary = "    canary:\n      version: v2\n      percent: 10\n      mode: request\n"
    path.write_text(path.read_text().replace(canary, ""))
    before = path.read_text()
    result = _cli(project, monkeypatch, fake, probe, "start", "v2", "--percent", "20", "--yes", "--allow-replace")
    assert result.exit_code == 1
    assert "refused: the preview makes a new deployment of the API (its document changed)" in result.output
    assert "Promote or roll back first, then `pulumi up` the API change" in result.output
    assert fake.ups == 0 and (project / "Pulumi.prod.yaml").read_text() == before


@pytest.mark.parametrize(("ops", "canary_after", "moves"), [
    ([(OpType.REPLACE, DEPLOYMENT_TYPE, "d"), (OpType.UPDATE, STAGE_TYPE, "st")], True, True),
    ([(OpType.CREATE, DEPLOYMENT_TYPE, "d")], True, True),
    ([(OpType.REPLACE, DEPLOYMENT_TYPE, "d"), (OpType.UPDATE, STAGE_TYPE, "st")], False, False),  # canary removed
    ([(OpType.CREATE, DEPLOYMENT_TYPE, "d"), (OpType.CREATE, STAGE_TYPE, "st")], True, False),  # first `up`
    ([(OpType.SAME, DEPLOYMENT_TYPE, "d"), (OpType.UPDATE, STAGE_TYPE, "st")], True, False),
])
def test_only_a_new_deployment_for_a_stage_keeping_its_canary_is_refused(ops, canary_after, moves):
    steps = cloud.AutomationStack(FakePulumiStack(ops), print).preview()
    assert cloud.moves_stage_with_canary(steps, canary_after) is moves
