"""Every step of a rollout, as `pulumi up` would apply it on AWS (see tests/lifecycle.py).

Rules a user relies on: no step replaces or deletes the endpoint, API, stage, roles, usage plan,
key or alarm topic; a routing flip touches only the stage (and the autoscaling registrations of
the versions that enter or leave service, and the dashboard, which shows the routing); adding or
retiring a version swaps the endpoint configuration, updates the endpoint in place and rewrites
the dashboard in place.
"""

from __future__ import annotations

import json
from functools import cache
from itertools import pairwise

import pytest

from tests.lifecycle import Change, Key, Registered, StepKind, changes, classify, deploy, rollout
from tests.metric_dimensions import metric_lines
from tests.pulumi_mocks import ACCOUNT_ID, REGION
from tests.stacks import edge_example

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
MODEL = "aws:sagemaker/model:Model"
STAGE = "aws:apigateway/stage:Stage"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SCALING = {"aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"}
WAF = {"aws:wafv2/webAcl:WebAcl", "aws:wafv2/webAclAssociation:WebAclAssociation"}
PROTECTED = {ENDPOINT, "aws:apigateway/restApi:RestApi", STAGE, "aws:iam/role:Role", *WAF,
             "aws:apigateway/usagePlan:UsagePlan", "aws:apigateway/apiKey:ApiKey", DASHBOARD, TOPIC,
             SUBSCRIPTION}  # a new subscription waits for its recipient to confirm it again
# SageMaker API reference, AutoRollbackConfig: "Array Members: Minimum number of 1 item. Maximum
# number of 10 items."; the provider's schema agrees (endpoint.go, alarms MaxItems: 10).
MAX_ROLLBACK_ALARMS = 10
MODES = {"request": False, "sticky": True}


@cache
def _deployments(mode: str) -> tuple[tuple[str, StepKind, dict[Key, Registered]], ...]:
    return tuple((step.label, step.kind, deploy(step.values)) for step in rollout(MODES[mode]))


def _transitions(mode: str):
    runs = _deployments(mode)
    for (_, _, before), (label, kind, after) in pairwise(runs):
        yield label, kind, before, after, changes(before, after)


def _changed(step_changes: dict[Key, Change]) -> dict[Key, Change]:
    return {key: change for key, change in step_changes.items() if change is not Change.NONE}


def _one(resources: dict[Key, Registered], token: str) -> Registered:
    (found,) = [r for (t, _), r in resources.items() if t == token]
    return found


def _variants(resources: dict[Key, Registered]) -> set[str]:
    return {v["variantName"] for v in _one(resources, ENDPOINT_CONFIG).inputs["productionVariants"]}


def _rollback_alarms(resources: dict[Key, Registered]) -> list[str]:
    config = _one(resources, ENDPOINT).inputs.get("deploymentConfig") or {}
    return [a["alarmName"] for a in (config.get("autoRollbackConfiguration") or {}).get("alarms", [])]


@pytest.mark.parametrize("mode", MODES)
def test_no_step_replaces_or_deletes_what_users_rely_on(mode):
    for label, _, _, _, step in _transitions(mode):
        hurt = {f"{name} ({change.value})" for (token, name), change in step.items()
                if token in PROTECTED and change in (Change.REPLACE, Change.DELETE)}
        assert not hurt, f"{mode} rollout, step '{label}' would replace or delete {sorted(hurt)}"


@pytest.mark.parametrize("mode", MODES)
def test_no_step_touches_the_web_acl_or_its_association(mode):
    """The prod example has a web ACL: adding, flipping and retiring versions leaves it alone."""
    assert {token for (token, _) in _deployments(mode)[0][2]} >= WAF, "the rollout's stack has a web ACL"
    for label, _, _, _, step in _transitions(mode):
        touched = {f"{name} ({change.value})" for (token, name), change in step.items()
                   if token in WAF and change is not Change.NONE}
        assert not touched, f"{mode} rollout, step '{label}' changes {sorted(touched)}"


EDGE_RESOURCES = {*WAF, "aws:apigateway/domainName:DomainName", "aws:apigateway/basePathMapping:BasePathMapping",
                  "aws:route53/record:Record"}


@cache
def _edge_deployments() -> tuple[dict[Key, Registered], ...]:
    return tuple(deploy(step.values) for step in rollout(sticky=False, base=edge_example()))


def _authorizer(resources: dict[Key, Registered]) -> dict:
    body = json.loads(_one(resources, "aws:apigateway/restApi:RestApi").inputs["body"])
    return body["components"]["securitySchemes"]["cognito"]


def _cache_settings(resources: dict[Key, Registered]) -> tuple:
    stage = _one(resources, STAGE).inputs
    method = _one(resources, "aws:apigateway/methodSettings:MethodSettings").inputs["settings"]
    canary = stage.get("canarySettings")
    return (stage["cacheClusterEnabled"], stage["cacheClusterSize"], method["cachingEnabled"],
            method["cacheTtlInSeconds"], method["cacheDataEncrypted"], canary and canary["useStageCache"])


def test_no_step_touches_the_edge_the_web_acl_domain_record_cache_or_authorizer():
    """The prod example with every edge feature (tests/stacks.py edge_example): adding, flipping and
    retiring versions never changes the web ACL, its association, the domain, its mapping, its
    alias record, the stage cache's settings (a canary never uses it) or the Cognito authorizer in
    the API's document."""
    runs = _edge_deployments()
    assert {token for token, _ in runs[0]} >= EDGE_RESOURCES, "the rollout's stack has every edge resource"
    for before, after in pairwise(runs):
        touched = {f"{name} ({change.value})" for (token, name), change in changes(before, after).items()
                   if token in EDGE_RESOURCES and change is not Change.NONE}
        assert not touched, sorted(touched)
        assert _authorizer(after) == _authorizer(before)
        assert _cache_settings(after)[:5] == _cache_settings(before)[:5] == (True, "0.5", True, 300, True)
        assert _cache_settings(after)[5] in (None, False), "a canary never uses the stage cache"


@pytest.mark.parametrize("mode", MODES)
def test_a_flip_changes_only_the_stage(mode):
    for label, kind, _, _, step in _transitions(mode):
        if kind is not StepKind.FLIP:
            continue
        changed = _changed(step)
        assert changed.get(next(k for k in step if k[0] == STAGE)) is Change.UPDATE, \
            f"{mode} step '{label}' must update the stage"
        others = {f"{name} ({change.value})" for (token, name), change in changed.items()
                  if token != STAGE and not (token in SCALING and change in (Change.CREATE, Change.DELETE))
                  and not (token == DASHBOARD and change is Change.UPDATE)}
        assert not others, f"{mode} step '{label}' is a routing flip but also changes {sorted(others)}"


@pytest.mark.parametrize("mode", MODES)
def test_a_version_change_swaps_the_configuration_and_updates_the_endpoint(mode):
    for label, kind, before, after, step in _transitions(mode):
        if kind is not StepKind.VERSIONS:
            continue
        by_token = {}
        for (token, _name), change in _changed(step).items():
            by_token.setdefault(token, set()).add(change)
        assert by_token.get(ENDPOINT_CONFIG) == {Change.REPLACE}, f"{mode} '{label}': configuration not swapped"
        assert by_token.get(ENDPOINT) == {Change.UPDATE}, \
            f"{mode} '{label}': the endpoint must be updated in place, got {by_token.get(ENDPOINT)}"
        assert by_token.get(MODEL) in ({Change.CREATE}, {Change.DELETE}), f"{mode} '{label}': {by_token.get(MODEL)}"
        assert _variants(before) != _variants(after)
        assert STAGE not in by_token, f"{mode} '{label}' changes the stage although routing is unchanged"
        assert by_token.get(DASHBOARD) == {Change.UPDATE}, f"{mode} '{label}': the dashboard must follow the versions"
        assert _dashboard_variants(after) == _variants(after), f"{mode} '{label}': dashboard shows other versions"
        assert not {TOPIC, SUBSCRIPTION} & by_token.keys(), f"{mode} '{label}' touches the alarm topic"


def _dashboard_variants(resources: dict[Key, Registered]) -> set[str]:
    body = json.loads(_one(resources, DASHBOARD).inputs["dashboardBody"])
    return {m.dimensions["VariantName"] for widget in body["widgets"] for m in metric_lines(widget)
            if "VariantName" in m.dimensions}


@pytest.mark.parametrize("mode", MODES)
def test_every_alarm_notifies_the_same_topic_through_the_rollout(mode):
    topics = set()
    for label, _, resources in _deployments(mode):
        (topic,) = [r for (t, _), r in resources.items() if t == TOPIC]
        topics.add(topic.outputs["arn"])
        for (token, name), alarm in resources.items():
            if token == ALARM:
                assert alarm.inputs.get("alarmActions") == [topic.outputs["arn"]], f"{mode} '{label}': {name}"
    assert len(topics) == 1, f"{mode}: the topic must keep its ARN (subscribers confirmed it), got {topics}"


@pytest.mark.parametrize("mode", MODES)
def test_rollback_alarms_stay_within_the_aws_limit(mode):
    for label, _, resources in _deployments(mode):
        alarms = _rollback_alarms(resources)
        assert len(alarms) <= MAX_ROLLBACK_ALARMS, \
            f"{mode} '{label}': {len(alarms)} auto-rollback alarms, SageMaker accepts at most {MAX_ROLLBACK_ALARMS}"


@pytest.mark.parametrize("mode", MODES)
def test_the_execution_role_can_describe_every_rollback_alarm(mode):
    """SageMaker guardrails docs: "Ensure that your IAM execution role has permission to perform
    the cloudwatch:DescribeAlarms action on the auto-rollback alarms you specify." """
    for label, _, resources in _deployments(mode):
        policy = next(json.loads(r.inputs["policy"]) for (t, n), r in resources.items()
                      if t == ROLE_POLICY and n.endswith("-execution-policy"))
        allowed = {arn for s in policy["Statement"] if "cloudwatch:DescribeAlarms" in s["Action"]
                   for arn in s["Resource"]}
        for alarm in _rollback_alarms(resources):
            arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{alarm}"
            assert arn in allowed or "*" in allowed, \
                f"{mode} '{label}': execution role cannot cloudwatch:DescribeAlarms on rollback alarm {alarm}"


@pytest.mark.parametrize("mode", MODES)
def test_no_variant_set_change_runs_under_deployment_guardrails(mode):
    """SageMaker deployment-guardrails exclusions: "When doing a blue/green or rolling deployment,
    your new endpoint configuration must have the same variant name as the old endpoint
    configuration." The provider sends the endpoint's deployment config with every update."""
    for label, _kind, before, after, _ in _transitions(mode):
        if _variants(before) != _variants(after):
            config = _one(after, ENDPOINT).inputs.get("deploymentConfig") or {}
            assert not {"blueGreenUpdatePolicy", "rollingUpdatePolicy"} & config.keys(), \
                f"{mode} '{label}' changes the variant set under deployment guardrails"


@pytest.mark.parametrize("before, after, expected", [
    ({"name": "a"}, {"name": "a"}, Change.NONE),
    ({"name": "a", "deploymentConfig": {"blueGreenUpdatePolicy": {"x": 1}}},
     {"name": "a", "deploymentConfig": {"blueGreenUpdatePolicy": {"x": 2}}}, Change.UPDATE),
    ({"name": "a", "deploymentConfig": {"autoRollbackConfiguration": {"alarms": [{"alarmName": "x"}]}}},
     {"name": "a", "deploymentConfig": {"autoRollbackConfiguration": {"alarms": [{"alarmName": "y"}]}}},
     Change.REPLACE),
    ({"name": "a", "endpointConfigName": "c1"}, {"name": "a", "endpointConfigName": "c2"}, Change.UPDATE),
    ({"name": "a"}, {"name": "b"}, Change.REPLACE),
])
def test_endpoint_changes_are_classified_by_the_provider_schema(before, after, expected):
    assert classify(Registered(ENDPOINT, "e", before, {}), Registered(ENDPOINT, "e", after, {})) is expected
