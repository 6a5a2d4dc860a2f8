"""The Pulumi program under mocks: what `pulumi up` would create for each example stack."""

from __future__ import annotations

import json

import pulumi
import pytest

from core import config as stack_config
from core import config_rules, dashboard_body, names, openapi, policies
from tests.metric_dimensions import metric_lines, problems
from tests.pulumi_mocks import RecordingMocks, Registered, run_program
from tests.stacks import DELETE, DOMAIN, EDGE, ROOT, edge_example, example, with_change

MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
REST_API = "aws:apigateway/restApi:RestApi"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCALING_TARGET = "aws:appautoscaling/target:Target"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@pytest.fixture(scope="module")
def prod() -> RecordingMocks:
    return run_program(example("prod"), stack="prod")


@pytest.fixture(scope="module")
def dev() -> RecordingMocks:
    return run_program(example("dev"), stack="dev")


def _document(mocks: RecordingMocks) -> dict:
    return json.loads(mocks.one(REST_API).inputs["body"])


def _integration(mocks: RecordingMocks) -> dict:
    return _document(mocks)["paths"][openapi.RESOURCE_PATH]["get"]["x-amazon-apigateway-integration"]


def _vtl(name: str) -> str:
    return (ROOT / "vtl" / name).read_text(encoding="utf-8")


def test_prod_registers_two_models_one_config_with_two_variants_one_endpoint(prod):
    assert len(prod.of_type(MODEL)) == 2
    variants = prod.one(ENDPOINT_CONFIG).inputs["productionVariants"]
    assert {v["variantName"]: v["initialVariantWeight"] for v in variants} == {"v1": 1.0, "v2": 0.0}
    model_names = {m.outputs["name"] for m in prod.of_type(MODEL)}
    assert {v["modelName"] for v in variants} == model_names, "each variant must serve its own Model"
    assert prod.one(ENDPOINT).inputs["name"] == "ratings-prod"


class RolledBackMocks(RecordingMocks):
    """The provider after SageMaker rolled an update back: the Endpoint's endpoint_config_name is read
    back from DescribeEndpoint (terraform-provider-aws internal/service/sagemaker/endpoint.go:
    resourceEndpointUpdate returns resourceEndpointRead) and names the previous configuration."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        resource_id, outputs = super().new_resource(args)
        if args.typ == ENDPOINT:
            outputs = {**outputs, "endpointConfigName": "ratings-prod-config-0ld0ld0"}
        return resource_id, outputs


def test_the_stack_exports_the_configuration_it_created_not_the_endpoints_read_back():
    mocks = run_program(example("prod"), stack="prod", mocks=RolledBackMocks())
    created = mocks.one(ENDPOINT_CONFIG).outputs["name"]
    assert created != "ratings-prod-config-0ld0ld0"
    assert mocks.exports["endpoint_config_name"] == created, \
        "canary compares DescribeEndpoint with this export: it must name what the update created"


def test_every_variant_has_its_alarms_and_the_endpoint_no_guardrails(prod):
    alarms = prod.of_type(ALARM)
    assert sorted(a.inputs["dimensions"]["VariantName"] for a in alarms) == ["v1", "v1", "v2", "v2"], \
        "two alarms (5xx, latency) per variant"
    # Guardrails need the same variant names before and after an update (SageMaker docs,
    # deployment-guardrails exclusions); adding or retiring a version changes them.
    assert "deploymentConfig" not in prod.one(ENDPOINT).inputs


def test_autoscaling_covers_exactly_the_serving_variants(prod, dev):
    ids = sorted(t.inputs["resourceId"] for t in prod.of_type(SCALING_TARGET))
    assert ids == ["endpoint/ratings-prod/variant/v1", "endpoint/ratings-prod/variant/v2"]
    assert dev.of_type(SCALING_TARGET) == [], "dev configures no autoscaling"


def test_prod_stage_sends_ten_percent_to_v2_through_the_variant_variable(prod):
    stage = prod.one(STAGE).inputs
    assert stage["variables"]["variant"] == "v1"
    canary = stage["canarySettings"]
    assert canary["percentTraffic"] == 10.0
    assert canary["stageVariableOverrides"] == {"variant": "v2"}
    assert canary["deploymentId"] == stage["deployment"]


def test_only_the_canarys_share_is_left_to_the_run(prod):
    """A run moves the canary's share with UpdateStage; the Stage ignores that one input and no
    resource of the program ignores anything else (read from the options the program registers)."""
    ignoring = {(r.type, r.name): r.ignore_changes for r in prod.resources if r.ignore_changes}
    assert ignoring == {(STAGE, prod.one(STAGE).name): ("canarySettings.percentTraffic",)}


def test_dev_stage_has_no_canary_and_serves_its_live_version(dev):
    stage = dev.one(STAGE).inputs
    assert "canarySettings" not in stage
    assert stage["variables"]["variant"] == "v1"


def test_removing_the_canary_removes_the_canary_settings():
    mocks = run_program(with_change(example("prod"), "ratings:routing.canary", DELETE))
    assert "canarySettings" not in mocks.one(STAGE).inputs


def test_sticky_canary_splits_in_the_template_not_in_the_stage():
    mocks = run_program(with_change(example("prod"), "ratings:routing.canary.mode", "sticky"))
    stage = mocks.one(STAGE).inputs
    assert "canarySettings" not in stage, "a stage canary would split the traffic a second time"
    assert stage["variables"]["candidate"] == "v2" and stage["variables"]["candidatePercent"] == "10"
    assert _integration(mocks)["requestTemplates"]["application/json"] == _vtl("request.vtl")


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_integration_carries_the_template_files_unchanged(stack, request):
    integration = _integration(request.getfixturevalue(stack))
    assert integration["passthroughBehavior"] == "never"
    assert integration["requestTemplates"] == {"application/json": _vtl("request.vtl")}
    responses = integration["responses"]
    assert responses["default"]["responseTemplates"]["application/json"] == _vtl("response.vtl")
    for pattern in openapi.ERROR_RESPONSES:
        assert responses[pattern]["responseTemplates"]["application/json"] == _vtl("error.vtl")
    assert integration["requestParameters"]["integration.request.header.X-Amzn-SageMaker-Target-Variant"] \
        == "stageVariables.variant"


def test_integration_invokes_the_endpoint_with_the_invoke_role(prod):
    integration = _integration(prod)
    assert integration["uri"] == ("arn:aws:apigateway:eu-west-1:runtime.sagemaker:"
                                  "path/endpoints/ratings-prod/invocations")
    invoke_role = next(r for r in prod.of_type(ROLE) if r.name.endswith("-invoke-role"))
    assert integration["credentials"] == invoke_role.outputs["arn"]


def _policies(mocks: RecordingMocks) -> list[tuple[Registered, dict]]:
    return [(p, json.loads(p.inputs["policy"])) for p in mocks.of_type(ROLE_POLICY)]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_policy_names_exact_actions_and_resources(stack, request):
    for resource, document in _policies(request.getfixturevalue(stack)):
        for statement in document["Statement"]:
            actions = statement["Action"]
            assert all("*" not in action for action in actions), \
                f"IAM policy {resource.name} must not use wildcard actions: {actions}"
            if "*" in statement["Resource"]:
                assert set(actions) <= policies.ACTIONS_WITHOUT_RESOURCES, \
                    f"IAM policy {resource.name} grants {actions} on '*' although they take resource ARNs"


def test_invoke_policy_names_exactly_the_endpoint_arn(prod):
    endpoint_arn = prod.one(ENDPOINT).outputs["arn"]
    invoke = next(doc for res, doc in _policies(prod) if res.name.endswith("-invoke-policy"))
    assert invoke["Statement"] == [{"Sid": "InvokeRatingsEndpoint", "Effect": "Allow",
                                    "Action": ["sagemaker:InvokeEndpoint"], "Resource": [endpoint_arn]}]


def test_execution_policy_reads_exactly_the_model_archives(prod):
    execution = next(doc for res, doc in _policies(prod) if res.name.endswith("-execution-policy"))
    read = next(s for s in execution["Statement"] if s["Sid"] == "ReadModelArchives")
    assert read["Resource"] == ["arn:aws:s3:::my-ratings-models/factorization/v2/model.tar.gz",
                                "arn:aws:s3:::my-ratings-models/object2vec/v1/model.tar.gz"]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_stage_has_auth_throttling_and_logging(stack, request):
    mocks = request.getfixturevalue(stack)
    stage = mocks.one(STAGE).inputs
    assert "$context.requestId" in stage["accessLogSettings"]["format"]
    assert stage["accessLogSettings"]["destinationArn"].startswith("arn:aws:logs:")
    assert stage["xrayTracingEnabled"] is True
    settings = mocks.one(METHOD_SETTINGS).inputs
    assert settings["methodPath"] == "*/*" and settings["stageName"] == stage["stageName"]
    assert settings["settings"]["metricsEnabled"] is True
    assert settings["settings"]["loggingLevel"] in {"ERROR", "INFO"}
    assert settings["settings"]["throttlingRateLimit"] > 0 and settings["settings"]["throttlingBurstLimit"] > 0
    security = _document(mocks)["paths"][openapi.RESOURCE_PATH]["get"]["security"]
    assert security in ([{"api_key": []}], [{"sigv4": []}])


def test_the_stack_owns_every_log_group_aws_would_write_to(prod):
    """The names AWS documents ("Execution logging for REST APIs", "Set up an API Gateway canary
    release deployment", "Log groups and streams that Amazon SageMaker AI sends to Amazon CloudWatch
    Logs"), each with a retention, so none is created by AWS outside the stack to live forever."""
    groups = {g.outputs["name"]: g.inputs.get("retentionInDays") for g in prod.of_type(LOG_GROUP)}
    api_id = prod.one(STAGE).inputs["restApi"]
    access = next(name for name in groups if name.startswith("ratings-prod-api-access-logs-") and "/" not in name)
    assert groups == {access: 90, f"{access}/Canary": 90,
                      f"API-Gateway-Execution-Logs_{api_id}/prod": 30,
                      f"API-Gateway-Execution-Logs_{api_id}/prod/Canary": 30,
                      "/aws/sagemaker/Endpoints/ratings-prod": 30}


def test_the_access_logs_answers_are_counted_per_version_by_metric_filters(prod):
    """Each filter reads the copy of the access log its side is written to (the stage's group, the
    canary's "/Canary" group) and counts into the stack's own namespace by stage and version; the
    provider's schema (logs/metric_filter.go) takes the pattern up to 1,024 characters, and AWS a
    metric filter's dimensions up to three (PutMetricFilter, "MetricTransformation")."""
    groups = {g.name: g.outputs["name"] for g in prod.of_type(LOG_GROUP)}
    filters = prod.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    counted = {(f.inputs["logGroupName"], f.inputs["metricTransformation"]["name"]) for f in filters}
    access = groups["ratings-prod-api-access-logs"]
    assert counted == {(group, metric) for group in (access, groups["ratings-prod-api-canary-access-logs"])
                       for metric in ("Answers", "ClientErrors", "ServerErrors", "IntegrationTimeouts",
                                      "CachedAnswers")}
    for metric_filter in filters:
        transformation = metric_filter.inputs["metricTransformation"]
        assert transformation["namespace"] == "RatingsApi/ratings-prod" and transformation["value"] == "1"
        assert len(transformation["dimensions"]) <= 3 and len(metric_filter.inputs["pattern"]) <= 1024


def test_log_retention_follows_the_config():
    values = example("prod")
    values["ratings:endpoint"] = {**values["ratings:endpoint"], "logRetentionDays": 7}
    values["ratings:api"]["logging"] = {**values["ratings:api"]["logging"], "executionLogRetentionDays": 14}
    groups = {g.outputs["name"]: g.inputs["retentionInDays"]
              for g in run_program(values, stack="prod").of_type(LOG_GROUP)}
    assert groups["/aws/sagemaker/Endpoints/ratings-prod"] == 7
    assert {days for name, days in groups.items() if name.startswith("API-Gateway-Execution-Logs_")} == {14}


def test_api_key_auth_comes_with_a_usage_plan_and_quota(prod):
    plan = prod.one("aws:apigateway/usagePlan:UsagePlan").inputs
    assert plan["quotaSettings"] == {"limit": 5000000.0, "period": "MONTH"}
    assert plan["apiStages"][0]["stage"] == "prod"
    key = prod.one("aws:apigateway/usagePlanKey:UsagePlanKey").inputs
    assert key["keyType"] == "API_KEY"
    assert prod.one(REST_API).inputs["apiKeySource"] == "HEADER"
    assert prod.program["api"].api_key_id is not None, "the key's id is exported as api_key_id"


def test_without_api_keys_there_is_no_key_to_export(dev):
    assert dev.program["api"].api_key_id is None


def test_redeployment_follows_the_document(prod):
    body = prod.one(REST_API).inputs["body"]
    triggers = prod.one("aws:apigateway/deployment:Deployment").inputs["triggers"]
    assert triggers == {"document": openapi.digest(body)}


def test_a_broken_config_fails_with_one_message_before_any_resource():
    values = with_change(example("prod"), "ratings:routing.canary.version", "v9")
    with pytest.raises(pulumi.RunError) as raised:
        run_program(values)
    message = str(raised.value)
    assert "routing.canary.version" in message and "'v9' is not a configured model version" in message
    assert message.count("\n  - ") == 1


def test_a_broken_config_registers_nothing():
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError):
        run_program(with_change(example("dev"), "ratings:models.0.name", "bad_name"), mocks=mocks)
    assert mocks.resources == [], "validation must stop the program before any resource"


LIMITED_NAMES = {MODEL: 63, ENDPOINT_CONFIG: 63, ROLE: 64}  # botocore: ModelName, EndpointConfigName, roleNameType


def test_the_longest_valid_endpoint_name_deploys_names_within_aws_limits():
    mocks = run_program(with_change(example("prod"), "ratings:endpoint.name", "r" * 36))
    limited = [r for r in mocks.resources if r.type in LIMITED_NAMES]
    assert {r.name for r in limited} == {a.logical for a in names.auto_names("r" * 36, ["v1", "v2"])}, \
        "the validation must check exactly the auto-named resources that have a length limit"
    for resource in limited:
        assert len(resource.name) + config_rules.AUTONAME_SUFFIX <= LIMITED_NAMES[resource.type], \
            f"auto-named {resource.type} {resource.name} would exceed {LIMITED_NAMES[resource.type]} characters"


def test_at_most_one_example_stack_per_region_owns_the_account_logging_role():
    owners = {}
    for stack in ("dev", "prod"):
        config = stack_config.parse(example(stack))
        if config.api.logging.manage_account_role:
            owners.setdefault(config.region, []).append(stack)
    assert all(len(stacks) == 1 for stacks in owners.values()), owners
    assert stack_config.Logging().manage_account_role is False, "a stack must opt in to own the account role"


def _dashboard_metrics(mocks: RecordingMocks):
    body = json.loads(mocks.one(DASHBOARD).inputs["dashboardBody"])
    return [(widget, metric) for widget in body["widgets"] for metric in metric_lines(widget)]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_dashboard_covers_every_configured_version_with_real_metrics(stack, request):
    mocks = request.getfixturevalue(stack)
    config = stack_config.parse(example(stack))
    metrics = _dashboard_metrics(mocks)
    wrong = [f"{w['properties']['title']}: {p}" for w, m in metrics for p in problems(m)]
    assert not wrong, wrong
    for version in config.model_names:
        shown = {m.name for _, m in metrics if m.dimensions.get("VariantName") == version}
        assert {"Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency"} <= shown, \
            f"dashboard of {stack} lacks SageMaker metrics of {version}: {shown}"
    assert {m.dimensions["EndpointName"] for _, m in metrics if "EndpointName" in m.dimensions} \
        == {mocks.one(ENDPOINT).outputs["name"]}, "the dashboard must read the endpoint the stack deploys"


def test_the_prod_dashboard_shows_the_stage_and_its_canary_of_the_deployed_api(prod):
    api_name = prod.one(REST_API).outputs["name"]
    stages = {m.dimensions["Stage"] for _, m in _dashboard_metrics(prod) if m.namespace == "AWS/ApiGateway"}
    assert stages == {"prod", dashboard_body.canary_stage("prod")}
    assert {m.dimensions["ApiName"] for _, m in _dashboard_metrics(prod) if m.namespace == "AWS/ApiGateway"} \
        == {api_name}, "API metrics are published under the RestApi's name"


def test_a_new_version_appears_on_the_dashboard():
    values = example("prod")
    values["ratings:models"].append(dict(values["ratings:models"][-1], name="v3",
                                         modelData="s3://my-ratings-models/factorization/v3/model.tar.gz"))
    mocks = run_program(values)
    assert "v3" in {m.dimensions.get("VariantName") for _, m in _dashboard_metrics(mocks)}


def test_with_notifications_every_alarm_notifies_the_topic(prod):
    topic_arn = prod.one(TOPIC).outputs["arn"]
    alarms = [r for r in prod.resources if r.type.startswith("aws:cloudwatch/") and r.type.endswith("Alarm")]
    assert {a.type for a in alarms} == {ALARM} and len(alarms) == 4, "prod has two alarms per variant"
    for alarm in alarms:
        assert alarm.inputs.get("alarmActions") == [topic_arn], f"alarm {alarm.name} must notify {topic_arn}"
        assert alarm.inputs.get("okActions") == [topic_arn], f"alarm {alarm.name} must say when it clears"
    subscriptions = prod.of_type(SUBSCRIPTION)
    assert [(s.inputs["protocol"], s.inputs["endpoint"], s.inputs["topic"]) for s in subscriptions] == \
        [("email", "ml-oncall@example.com", topic_arn)]


def test_a_webhook_gets_an_https_subscription():
    mocks = run_program(with_change(example("prod"), "ratings:notifications.webhook", "https://hooks.example.com/a"))
    topic_arn = mocks.one(TOPIC).outputs["arn"]
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in mocks.of_type(SUBSCRIPTION)) == \
        [("email", "ml-oncall@example.com"), ("https", "https://hooks.example.com/a")]
    assert all(s.inputs["topic"] == topic_arn for s in mocks.of_type(SUBSCRIPTION))


def test_without_notifications_there_is_no_topic_and_alarms_have_no_actions(dev):
    assert dev.of_type(TOPIC) == [] and dev.of_type(SUBSCRIPTION) == []
    for alarm in dev.of_type(ALARM):
        assert not alarm.inputs.get("alarmActions") and not alarm.inputs.get("okActions"), alarm.name


WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


def _with_waf(stack: str, waf: dict) -> RecordingMocks:
    values = example(stack)
    values["ratings:api"] = {**values["ratings:api"], "waf": waf}
    return run_program(values, stack=stack)


def test_waf_puts_a_web_acl_with_managed_rules_and_a_rate_rule_on_the_stage():
    mocks = _with_waf("dev", {"rateLimitPer5Min": 500})
    acl = mocks.one(WEB_ACL).inputs
    assert (acl["scope"], acl["defaultAction"]) == ("REGIONAL", {"allow": {}})
    rules = sorted(acl["rules"], key=lambda rule: rule["priority"])
    assert [(r["name"], r["priority"]) for r in rules] == [
        ("AWSManagedRulesCommonRuleSet", 0), ("AWSManagedRulesKnownBadInputsRuleSet", 1), ("ratings-rate-per-ip", 2)]
    for managed in rules[:2]:
        assert managed["overrideAction"] == {"none": {}} and "action" not in managed
        assert managed["statement"]["managedRuleGroupStatement"] == {"name": managed["name"], "vendorName": "AWS"}
    assert rules[2]["action"] == {"block": {}}
    assert rules[2]["statement"]["rateBasedStatement"] == {"limit": 500, "aggregateKeyType": "IP",
                                                         "evaluationWindowSec": 300}
    assert all(r["visibilityConfig"]["cloudwatchMetricsEnabled"] for r in rules)
    association = mocks.one(WEB_ACL_ASSOCIATION).inputs
    assert association["resourceArn"] == mocks.one(STAGE).outputs["arn"]
    assert association["webAclArn"] == mocks.one(WEB_ACL).outputs["arn"]


def test_without_a_waf_section_or_with_it_disabled_there_is_no_web_acl(dev):
    assert dev.of_type(WEB_ACL) == [] and dev.of_type(WEB_ACL_ASSOCIATION) == []
    assert _with_waf("dev", {"enabled": False}).of_type(WEB_ACL) == []


def test_the_prod_dashboard_charts_what_the_web_acl_blocked(prod):
    acl_name = prod.one(WEB_ACL).outputs["name"]
    waf = [m for _, m in _dashboard_metrics(prod) if m.namespace == "AWS/WAFV2"]
    assert {m.dimensions["WebACL"] for m in waf} == {acl_name}, "WAF metrics are published under the ACL's name"
    assert {m.dimensions["Region"] for m in waf} == {"eu-west-1"}
    assert {(m.name, m.dimensions["Rule"]) for m in waf} == {
        ("AllowedRequests", "ALL"), ("BlockedRequests", "ALL"),
        *{("BlockedRequests", name) for name in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                                                 "ratings-rate-per-ip")}}


POOL_ARN = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123"


def test_cognito_auth_puts_a_user_pool_authorizer_on_the_method():
    """API Gateway developer guide, "x-amazon-apigateway-authorizer object" (type
    cognito_user_pools, providerARNs) and "x-amazon-apigateway-authtype"."""
    values = example("dev")
    values["ratings:api"] = {**values["ratings:api"], "auth": "cognito", "cognito": {"userPoolArn": POOL_ARN}}
    mocks = run_program(values, stack="dev")
    document = _document(mocks)
    scheme = document["components"]["securitySchemes"]["cognito"]
    assert scheme == {"type": "apiKey", "name": "Authorization", "in": "header",
                      "x-amazon-apigateway-authtype": "cognito_user_pools",
                      "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [POOL_ARN]}}
    assert document["paths"][openapi.RESOURCE_PATH]["get"]["security"] == [{"cognito": []}]
    assert mocks.one(REST_API).inputs.get("apiKeySource") is None
    assert mocks.of_type("aws:apigateway/usagePlan:UsagePlan") == []


def test_a_custom_domain_maps_the_stage_at_its_root_with_an_alias_record():
    mocks = run_program(edge_example(), stack=EDGE)
    domain = mocks.one("aws:apigateway/domainName:DomainName")
    assert domain.inputs["domainName"] == "ratings.example.com"
    assert domain.inputs["regionalCertificateArn"] == DOMAIN["certificateArn"]
    assert domain.inputs["endpointConfiguration"] == {"types": "REGIONAL"}
    assert domain.inputs["securityPolicy"] == "TLS_1_2"
    mapping = mocks.one("aws:apigateway/basePathMapping:BasePathMapping").inputs
    assert mapping["restApi"] == f"{mocks.one(REST_API).name}-id" and mapping["stageName"] == "prod"
    assert mapping["domainName"] == "ratings.example.com" and "basePath" not in mapping, "mapped at the root"
    record = mocks.one("aws:route53/record:Record").inputs
    assert (record["zoneId"], record["name"], record["type"]) == (DOMAIN["hostedZoneId"], "ratings.example.com", "A")
    assert record["aliases"] == [{"name": domain.outputs["regionalDomainName"],
                                  "zoneId": domain.outputs["regionalZoneId"], "evaluateTargetHealth": False}]
    assert mocks.exports["invoke_url"] == "https://ratings.example.com/"


def test_without_a_hosted_zone_there_is_no_record_to_manage():
    values = with_change(edge_example(), "ratings:api.domain.hostedZoneId", DELETE)
    mocks = run_program(values, stack=EDGE)
    assert mocks.of_type("aws:route53/record:Record") == []
    assert len(mocks.of_type("aws:apigateway/basePathMapping:BasePathMapping")) == 1


def test_a_stage_cache_caches_the_live_answers_by_user_and_items_and_the_canary_skips_it():
    values = with_change(example("prod"), "ratings:api.cache", {"sizeGb": 0.5, "ttlSeconds": 120})
    mocks = run_program(values, stack="prod")
    stage = mocks.one(STAGE).inputs
    assert (stage["cacheClusterEnabled"], stage["cacheClusterSize"]) == (True, "0.5")
    assert stage["canarySettings"]["useStageCache"] is False
    settings = mocks.one(METHOD_SETTINGS).inputs["settings"]
    assert (settings["cachingEnabled"], settings["cacheTtlInSeconds"], settings["cacheDataEncrypted"]) == (True, 120,
                                                                                                          True)
    integration = _integration(mocks)
    assert integration["cacheKeyParameters"] == ["method.request.path.user_id", "method.request.querystring.items"]


def test_without_a_cache_the_stage_has_no_cluster(prod):
    assert "cacheClusterEnabled" not in prod.one(STAGE).inputs
    assert "cacheKeyParameters" not in _integration(prod)
