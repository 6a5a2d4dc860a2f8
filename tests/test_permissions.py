"""`ratings iam-policy` against references this project did not write.

- The Service Authorization Reference (the copy policy_sentry ships, from the AWS pages): every
  action exists, every resource has a form the action is authorized on (``*`` exactly where the
  action takes no resource), and the actions AWS lists as dependent are granted too.
- The provider's calls for every resource the program registers (tests/aws/provider_calls.py,
  each call cited), turned into IAM requests with botocore's service models (API Gateway's actions
  are the HTTP verb of the operation on its path): the deployer's policy allows every one.
- The calls `canary` makes, observed on real boto3 clients that the behaviour model answers while
  the real commands run: the operator's policy allows every one.
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from collections.abc import Iterator
from functools import cache

import botocore.session
import pytest
from click.testing import CliRunner
from policy_sentry.querying.actions import get_action_data, get_actions_for_service
from policy_sentry.querying.arns import get_raw_arns_for_service

from canary import service
from canary.prediction_sources import SageMakerSource
from core import config as stack_config
from core import permissions
from core.permissions import Reader, Scope
from ratings import cli as ratings_cli
from ratings.policy_command import MANAGED_POLICY_CHARACTERS
from tests.aws import clients
from tests.aws.provider_calls import CALLS, PROVIDER_START, Call
from tests.pulumi_mocks import ACCOUNT_ID, REGION, RecordingMocks, Registered, run_program
from tests.stacks import EDGE, ROOT, edge_example, example
from tests.test_cloud_run import Account
from tests.test_cloud_run import project as prod_without_canary  # noqa: F401  # a fixture

STACKS = ("prod", "dev", "edge")  # edge: prod with a custom domain and Cognito auth (tests/stacks.py)
# dependent actions AWS lists that this stack never needs, and why
OTHER_SERVICES_WEB_ACL_ACTIONS = (
    "amplify:AssociateWebACL", "amplify:DisassociateWebACL", "amplify:GetWebACLForResource",
    "apprunner:AssociateWebAcl", "apprunner:DisassociateWebAcl", "apprunner:DescribeWebAclForService",
    "appsync:AssociateWebACL", "appsync:DisassociateWebACL", "appsync:GetWebACLForResource", "appsync:SetWebACL",
    "cognito-idp:AssociateWebACL", "cognito-idp:DisassociateWebACL", "cognito-idp:GetWebACLForResource",
    "ec2:AssociateVerifiedAccessInstanceWebAcl", "ec2:DisassociateVerifiedAccessInstanceWebAcl",
    "ec2:GetVerifiedAccessInstanceWebAcl", "elasticloadbalancing:CreateWebACLAssociation",
    "elasticloadbalancing:DeleteWebACLAssociation", "elasticloadbalancing:GetLoadBalancerWebACL",
    "elasticloadbalancing:SetWebAcl", "wafv2:GetPermissionPolicy", "wafv2:PutPermissionPolicy")
NOT_DEPENDED_ON = {
    # SNS passes a role only for delivery-status logging attributes, which the stack does not set
    ("sns:CreateTopic", "iam:PassRole"), ("sns:SetTopicAttributes", "iam:PassRole"),
    # a web ACL's association calls the associated service's own action: for a REST API stage that
    # is apigateway:SetWebACL (granted); the others are Amplify's, AppSync's, load balancers' ...,
    # and the permission policies are for web ACLs shared across accounts
    *{(f"wafv2:{action}", dependent) for action in ("AssociateWebACL", "DisassociateWebACL", "GetWebACLForResource")
      for dependent in OTHER_SERVICES_WEB_ACL_ACTIONS},
}
INLINE_ROLE_POLICY_CHARACTERS = 10_240
IAM_PREFIX = {"sagemaker-runtime": "sagemaker", "monitoring": "cloudwatch"}


def _values(stack: str) -> dict:
    return edge_example() if stack == "edge" else example(stack)


@cache
def _policy(stack: str, reader: Reader) -> dict:
    return permissions.policy(reader, Scope(ACCOUNT_ID, stack_config.parse(_values(stack))))


@cache
def _program(stack: str) -> RecordingMocks:
    return run_program(_values(stack), stack=EDGE if stack == "edge" else stack)


def allows(document: dict, action: str, resource: str) -> bool:
    """IAM's matching for Allow statements: actions case-insensitively, resources case-sensitively,
    ``*`` and ``?`` as wildcards (IAM User Guide, "IAM JSON policy elements: Resource")."""
    return any(any(_matches(a.lower(), action.lower()) for a in statement["Action"])
               and any(_matches(r, resource) for r in statement["Resource"])
               for statement in document["Statement"])


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


# --- the Service Authorization Reference ---------------------------------------------------------

def _statements(stack: str) -> Iterator[tuple[str, str, dict]]:
    for statement in _policy(stack, Reader.OPERATOR)["Statement"]:
        for action in statement["Action"]:
            yield statement["Sid"], action, statement


def _sar_formats(action: str) -> list[str]:
    service, name = action.split(":")
    rows = (get_action_data(service, name) or {}).get(service, [])
    return [row["resource_arn_format"] for row in rows]


def _format_regex(arn_format: str) -> str:
    return re.sub(r"\\\$\\\{[A-Za-z]+\\\}", ".+", re.escape(arn_format))


@pytest.mark.parametrize("stack", STACKS)
def test_every_action_exists_and_every_resource_has_a_form_it_is_authorized_on(stack):
    api_gateway_arns = [_format_regex(arn) for arn in get_raw_arns_for_service("apigateway")]
    api_gateway_actions = {a.lower() for a in get_actions_for_service("apigateway")}
    for sid, action, statement in _statements(stack):
        if action.startswith("apigateway:"):  # policy_sentry's rows for the verbs are API Gateway V2's only
            assert action.lower() in api_gateway_actions, (sid, action)
            for resource in statement["Resource"]:
                sample = resource.replace("*", "x1")
                assert any(re.fullmatch(f, sample) for f in api_gateway_arns), (sid, resource)
            continue
        formats = _sar_formats(action)
        assert formats, f"{sid}: {action} is not an IAM action"
        typed = [_format_regex(f) for f in formats if f != "*"]
        for resource in statement["Resource"]:
            if not typed:
                assert resource == "*", f"{sid}: {action} takes no resource type, so only '*'"
            else:
                sample = resource.replace("*", "x1")
                assert any(re.fullmatch(f, sample) for f in typed), f"{sid}: {action} is not authorized on {resource}"


@pytest.mark.parametrize("stack", STACKS)
def test_actions_aws_lists_as_dependent_are_granted(stack):
    granted = {action.lower() for _, action, _ in _statements(stack)}
    for sid, action, _ in _statements(stack):
        if action.startswith("apigateway:"):
            continue
        service, name = action.split(":")
        rows = (get_action_data(service, name) or {}).get(service, [])
        for dependent in {d for row in rows for d in row["dependent_actions"] or []}:
            if (action, dependent) not in NOT_DEPENDED_ON:
                assert dependent.lower() in granted, f"{sid}: {action} needs {dependent}"


def test_the_example_policies_fit_in_one_managed_policy():
    for stack in ("prod", "dev"):
        for reader in Reader:
            size = len(json.dumps(_policy(stack, reader), separators=(",", ":")))
            assert size <= MANAGED_POLICY_CHARACTERS, (stack, reader, size)


def test_a_stack_with_every_edge_feature_fits_in_an_inline_policy():
    """With a custom domain, its record and WAF the deployer's policy is longer than a managed
    policy holds; `ratings iam-policy` says so and it fits a role's inline policy (IAM quotas:
    10,240 characters)."""
    for reader in Reader:
        size = len(json.dumps(_policy("edge", reader), separators=(",", ":")))
        assert size <= INLINE_ROLE_POLICY_CHARACTERS, (reader, size)


# --- the provider's calls --------------------------------------------------------------------------

@cache
def _service_model(service: str):
    return botocore.session.get_session().get_service_model(service)


def _iam_action(service: str, operation: str) -> str:
    model = _service_model(service).operation_model(operation)  # raises for a misspelt operation
    if service == "apigateway":
        return f"apigateway:{model.http['method']}"
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


def _api_gateway_arn(operation: str, ids: dict[str, str]) -> str:
    path = _service_model("apigateway").operation_model(operation).http["requestUri"].split("?")[0]
    return f"arn:aws:apigateway:{REGION}::" + re.sub(r"\{(\w+)\+?\}", lambda m: ids[m.group(1)], path)


def _takes_no_resource(action: str) -> bool:
    return not action.startswith("apigateway:") and set(_sar_formats(action)) == {"*"}


def _by_logical(mocks: RecordingMocks, mock_id: str) -> Registered:
    """The resource a mock id names (the mocks' id of a resource is its logical name plus "-id")."""
    return next(r for r in mocks.resources if f"{r.name}-id" == mock_id)


def _resources_of(call: Call, action: str, resource: Registered, mocks: RecordingMocks) -> list[str]:
    """What the provider's call is authorized on, for this resource as the program registered it."""
    if _takes_no_resource(action):
        return ["*"]
    inputs, outputs = resource.inputs, resource.outputs
    if call.service == "apigateway":
        own_id = f"{resource.name}-id"
        ids = {"restapi_id": inputs.get("restApi", own_id), "stage_name": inputs.get("stageName", ""),
               "deployment_id": own_id, "api_Key": own_id, "usageplanId": inputs.get("usagePlanId", own_id),
               "keyId": inputs.get("keyId", ""), "domain_name": inputs.get("domainName", ""),
               "base_path": "(none)",  # the mapping at the domain's root (base_path_mapping.go)
               "resource_arn": urllib.parse.quote(f"arn:aws:apigateway:{REGION}::/restapis/{own_id}", safe="")}
        return [_api_gateway_arn(call.operation, ids)]
    if resource.type == "aws:iam/rolePolicy:RolePolicy":
        return [_by_logical(mocks, inputs["role"]).outputs["arn"]]
    if resource.type == "aws:sagemaker/endpoint:Endpoint" and call.operation in ("CreateEndpoint", "UpdateEndpoint"):
        config = next(r for r in mocks.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"))
        return [outputs["arn"], config.outputs["arn"].lower()]
    if resource.type == "aws:appautoscaling/target:Target" or resource.type == "aws:appautoscaling/policy:Policy":
        return [f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT_ID}:scalable-target/0a1b2c3d4e5f"]
    if resource.type == "aws:sns/topicSubscription:TopicSubscription":
        return [inputs["topic"]]
    if resource.type == "aws:cloudwatch/dashboard:Dashboard":
        return [outputs["dashboardArn"]]
    if resource.type == "aws:cloudwatch/logMetricFilter:LogMetricFilter":  # authorized on its log group
        return [f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{inputs['logGroupName']}"]
    if resource.type == "aws:route53/record:Record":  # its zone, and the change AWS names (GetChange)
        if call.operation == "GetChange":
            return ["arn:aws:route53:::change/C0123456789ABCDEFGHIJ"]
        return [f"arn:aws:route53:::hostedzone/{inputs['zoneId']}"]
    if resource.type == "aws:wafv2/webAclAssociation:WebAclAssociation":
        # AssociateWebACL and GetWebACLForResource name both (the web ACL and the stage), Disassociate the stage
        named = [inputs["resourceArn"]]
        return named if call.operation == "DisassociateWebACL" else [inputs["webAclArn"], *named]
    return [outputs["arn"].lower() if call.service == "sagemaker" else outputs["arn"]]


@pytest.mark.parametrize("stack", STACKS)
def test_the_deployer_may_make_every_call_the_provider_makes_for_the_program(stack):
    mocks, document = _program(stack), _policy(stack, Reader.DEPLOYER)
    for resource in mocks.resources:
        if resource.type.startswith("ratings:") or resource.type.startswith("pulumi:"):
            continue  # components: no AWS calls of their own
        assert resource.type in CALLS, f"{resource.type}: list the provider's calls in tests/aws/provider_calls.py"
        for call in CALLS[resource.type]:
            action = _iam_action(call.service, call.operation)
            for arn in _resources_of(call, action, resource, mocks):
                assert allows(document, action, arn), f"{resource.name}: {call.where} needs {action} on {arn}"
    for call in PROVIDER_START:
        assert allows(document, _iam_action(call.service, call.operation), "*")


def test_the_deployer_may_pass_each_role_only_to_its_service():
    document, mocks = _policy("prod", Reader.DEPLOYER), _program("prod")
    roles = {r.name: r.outputs["arn"] for r in mocks.of_type("aws:iam/role:Role")}
    passes = [s for s in document["Statement"] if s["Action"] == ["iam:PassRole"]]
    to = {s["Condition"]["StringEquals"]["iam:PassedToService"]: s for s in passes}
    assert allows({"Statement": [to["sagemaker.amazonaws.com"]]}, "iam:PassRole", roles["ratings-prod-execution-role"])
    assert not allows({"Statement": [to["sagemaker.amazonaws.com"]]}, "iam:PassRole",
                      roles["ratings-prod-api-invoke-role"])
    for api_role in ("ratings-prod-api-invoke-role", "ratings-prod-api-cloudwatch-role"):
        assert allows({"Statement": [to["apigateway.amazonaws.com"]]}, "iam:PassRole", roles[api_role])


def test_another_stacks_resources_are_out_of_reach():
    document = _policy("prod", Reader.OPERATOR)
    dev_endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:endpoint/ratings-dev"
    assert not allows(document, "sagemaker:UpdateEndpoint", dev_endpoint)
    assert not allows(document, "iam:DeleteRole", f"arn:aws:iam::{ACCOUNT_ID}:role/ratings-dev-execution-role-x")
    assert not allows(document, "logs:DeleteLogGroup", f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/x")


def test_a_feature_the_stack_does_not_use_grants_nothing():
    dev = {s["Sid"] for s in _policy("dev", Reader.DEPLOYER)["Statement"]}
    assert not dev & {"ApiKeys", "ApiGatewayAccount", "AlarmTopic", "ScalableTargets", "AutoScalingServiceLinkedRole"}


# --- the calls canary makes ------------------------------------------------------------------------

def _observed_resource(service: str, operation: str, params: dict) -> tuple[str, str]:
    action = _iam_action(service, operation)
    if _takes_no_resource(action):
        return action, "*"
    if service == "apigateway":
        return action, _api_gateway_arn(operation, {"restapi_id": params["restApiId"],
                                                    "stage_name": params["stageName"]})
    return action, f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:endpoint/{params['EndpointName'].lower()}"


def test_the_operator_may_make_every_call_canary_makes(prod_without_canary, moto_ssm):  # noqa: F811
    clients.OBSERVED.clear()
    ssm_calls = _observing_ssm()
    account = Account(prod_without_canary)
    account.run()  # every step's DescribeEndpoint, CloudWatch at every look, the run registry
    service.status(account.collaborators(), {}, 600.0)  # GetStage
    _ask_sagemaker_for_predictions()
    observed = {(service_name, operation) for service_name, operation, _ in clients.OBSERVED}
    assert {("sagemaker", "DescribeEndpoint"), ("cloudwatch", "GetMetricStatistics"), ("cloudwatch", "GetMetricData"),
            ("apigateway", "GetStage"), ("sagemaker-runtime", "InvokeEndpoint")} <= observed
    document = _policy("prod", Reader.OPERATOR)
    for service_name, operation, params in clients.OBSERVED:
        action, resource = _observed_resource(service_name, operation, params)
        assert allows(document, action, resource), f"canary's {operation} needs {action} on {resource}"
    assert {operation for operation, _ in ssm_calls} == {"GetParameter", "PutParameter", "DeleteParameter"}
    for operation, params in ssm_calls:
        resource = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter{params['Name']}"
        assert allows(document, f"ssm:{operation}", resource), f"canary's {operation} needs it on {resource}"
    modelled = {c.split(" ")[0] for c in account.sagemaker.calls + account.stack.apigateway.calls}
    listed = {call.operation for calls in CALLS.values() for call in calls}
    assert modelled - {"DescribeEndpoint"} <= listed, "the behaviour model makes only calls the provider makes"


def _observing_ssm() -> list[tuple[str, dict]]:
    """Every SSM call of clients made from boto3's default session (the run registry's), as
    (operation, parameters): those clients are moto's, not the behaviour model's."""
    import boto3

    calls: list[tuple[str, dict]] = []
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(
        "before-parameter-build.ssm", lambda params, model, **_: calls.append((model.name, dict(params))))
    return calls


def _ask_sagemaker_for_predictions() -> None:
    """The quality gate's InvokeEndpoint, answered as SageMaker answers it."""
    from botocore.response import StreamingBody

    def invoke(params: dict) -> dict:
        body = json.dumps({"predictions": [{"scores": [3.5]}]}).encode()
        return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json",
                "InvokedProductionVariant": params["TargetVariant"]}

    source = SageMakerSource(clients.client("sagemaker-runtime", {"InvokeEndpoint": invoke}), "ratings-prod")
    source.invoke("v2", json.dumps({"instances": [{"in0": [1], "in1": [2]}]}).encode())


# --- the command -----------------------------------------------------------------------------------

def _ratings(*args: str):
    return CliRunner().invoke(ratings_cli.main, [*args, "--project-dir", str(ROOT)])


def test_the_command_prints_the_policy_for_the_stack_and_account():
    result = _ratings("iam-policy", "--stack", "prod", "--for", "operator", "--account-id", ACCOUNT_ID)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == _policy("prod", Reader.OPERATOR)


def test_the_account_comes_from_sts_when_not_given(monkeypatch):
    import moto

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        result = _ratings("iam-policy", "--stack", "dev")
    assert result.exit_code == 0, result.output
    assert f":{moto.core.DEFAULT_ACCOUNT_ID}:" in result.stdout


def test_explain_says_why_each_statement_is_there():
    result = _ratings("iam-policy", "--stack", "prod", "--for", "operator", "--explain")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["statement", "actions", "why"]
    assert [line.split()[0] for line in lines[1:]] == [s["Sid"] for s in _policy("prod", Reader.OPERATOR)["Statement"]]
    assert any("tags_interceptor" in line or "model.go" in line for line in lines)


@pytest.mark.parametrize("args, message", [
    (["--stack", "prod", "--account-id", "12"], "--account-id: '12' is not a 12-digit AWS account id"),
    (["--stack", "nope", "--account-id", ACCOUNT_ID], "Pulumi.nope.yaml"),
    (["--stack", "prod", "--for", "admin", "--account-id", ACCOUNT_ID], "'admin' is not one of"),
])
def test_bad_invocations_get_one_line(args, message):
    result = _ratings("iam-policy", *args)
    assert result.exit_code != 0 and message in result.stderr and "Traceback" not in result.stderr
