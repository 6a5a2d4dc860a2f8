"""Which inputs force Pulumi to replace a resource, per type token the program uses.

pulumi-aws 7.x bridges the Terraform AWS provider: a property marked ``ForceNew`` in the
provider's schema makes Pulumi plan a replacement when it changes. Each row names the schema
file of hashicorp/terraform-provider-aws it was read from (paths under ``internal/service/``).
Paths are Pulumi's camelCase wire names; a dotted path is a nested block (Terraform's
one-element lists are objects in Pulumi). ``ALL_INPUTS`` marks resources without any in-place
update: every argument except tags is ``ForceNew``.

Pulumi's own naming rules complete the table: a resource without an explicit name is
auto-named ``<logical name>-<7 random characters>`` and keeps that name across updates; a
replacement gets a new name and is created before the old one is deleted. A resource with an
explicit ``name`` cannot exist twice, so its replacement deletes it first (an outage).
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_INPUTS = ("*",)
IGNORED_INPUTS = frozenset({"tags"})
PROVIDER = "hashicorp/terraform-provider-aws"
AUTONAME_SUFFIX = 8  # "-" + 7 random characters (pulumi-terraform-bridge tfbridge.AutoName, Randlen 7)


@dataclass(frozen=True)
class Triggers:
    paths: tuple[str, ...]
    source: str  # schema file in PROVIDER


REPLACE_TRIGGERS: dict[str, Triggers] = {
    "aws:sagemaker/endpoint:Endpoint": Triggers(
        ("name", "deploymentConfig.autoRollbackConfiguration"), "internal/service/sagemaker/endpoint.go"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Triggers(
        ALL_INPUTS, "internal/service/sagemaker/endpoint_configuration.go"),
    "aws:sagemaker/model:Model": Triggers(ALL_INPUTS, "internal/service/sagemaker/model.go"),
    "aws:iam/role:Role": Triggers(("name", "namePrefix", "path"), "internal/service/iam/role.go"),
    "aws:iam/rolePolicy:RolePolicy": Triggers(("name", "namePrefix", "role"), "internal/service/iam/role_policy.go"),
    "aws:apigateway/restApi:RestApi": Triggers((), "internal/service/apigateway/rest_api.go"),
    "aws:apigateway/deployment:Deployment": Triggers(
        ("restApi", "triggers", "variables"), "internal/service/apigateway/deployment.go"),
    "aws:apigateway/stage:Stage": Triggers(("restApi", "stageName"), "internal/service/apigateway/stage.go"),
    "aws:apigateway/methodSettings:MethodSettings": Triggers(
        ("restApi", "stageName", "methodPath"), "internal/service/apigateway/method_settings.go"),
    # read at edd8342: cloudwatch_role_arn updates in place; throttle_settings is computed
    "aws:apigateway/account:Account": Triggers((), "internal/service/apigateway/account.go"),
    "aws:apigateway/apiKey:ApiKey": Triggers(("name", "value"), "internal/service/apigateway/api_key.go"),
    # read at 552c046: no ForceNew, nested blocks included (the name is patched in place)
    "aws:apigateway/usagePlan:UsagePlan": Triggers((), "internal/service/apigateway/usage_plan.go"),
    "aws:apigateway/usagePlanKey:UsagePlanKey": Triggers(
        ("keyId", "keyType", "usagePlanId"), "internal/service/apigateway/usage_plan_key.go"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Triggers(("name",), "internal/service/cloudwatch/metric_alarm.go"),
    # read at b11fc0f; newer versions add a ForceNew log_group_class, which the program does not set
    "aws:cloudwatch/logGroup:LogGroup": Triggers(("name", "namePrefix"), "internal/service/logs/group.go"),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": Triggers(("logGroupName", "name"),
                                                             "internal/service/logs/metric_filter.go"),
    # dashboard_body is updated in place by PutDashboard (resourceDashboardPut is also the Update)
    "aws:cloudwatch/dashboard:Dashboard": Triggers(("dashboardName",), "internal/service/cloudwatch/dashboard.go"),
    "aws:sns/topic:Topic": Triggers(("name", "namePrefix", "fifoTopic"), "internal/service/sns/topic.go"),
    # topic_arn is the Pulumi input "topic"
    "aws:sns/topicSubscription:TopicSubscription": Triggers(
        ("endpoint", "protocol", "topic"), "internal/service/sns/topic_subscription.go"),
    # read at 00081ce: domain_name and the uploaded-certificate fields are ForceNew (certificate ARNs update in place)
    "aws:apigateway/domainName:DomainName": Triggers(
        ("domainName", "certificateBody", "certificateChain", "certificatePrivateKey"),
        "internal/service/apigateway/domain_name.go"),
    # read at 0657871: only domain_name is ForceNew (api_id, base_path and stage_name are patched)
    "aws:apigateway/basePathMapping:BasePathMapping": Triggers(
        ("domainName",), "internal/service/apigateway/base_path_mapping.go"),
    # read at 00655c1: name and zone_id are ForceNew
    "aws:route53/record:Record": Triggers(("name", "zoneId"), "internal/service/route53/record.go"),
    # read at 0073593: name, name_prefix and scope are ForceNew; rules and actions update in place
    "aws:wafv2/webAcl:WebAcl": Triggers(("name", "namePrefix", "scope"), "internal/service/wafv2/web_acl.go"),
    # read at 011a8ee: both arguments ForceNew, and the resource has no update
    "aws:wafv2/webAclAssociation:WebAclAssociation": Triggers(
        ALL_INPUTS, "internal/service/wafv2/web_acl_association.go"),
    "aws:appautoscaling/target:Target": Triggers(
        ("resourceId", "scalableDimension", "serviceNamespace"), "internal/service/appautoscaling/target.go"),
    # read at e33a89d: no nested attribute of either policy configuration is ForceNew
    "aws:appautoscaling/policy:Policy": Triggers(
        ("name", "resourceId", "scalableDimension", "serviceNamespace"), "internal/service/appautoscaling/policy.go"),
}

MSG_UNKNOWN_TYPE = ("no replace-trigger row for {token}; read its schema in {provider} and add a row "
                    "to tests/replace_triggers.py")


COMPONENT_PREFIX = "ratings:"  # the project's ComponentResources: groupings, no cloud resource


def triggers(token: str) -> Triggers:
    if token.startswith(COMPONENT_PREFIX):
        return Triggers((), "(component)")
    if token not in REPLACE_TRIGGERS:
        raise KeyError(MSG_UNKNOWN_TYPE.format(token=token, provider=PROVIDER))
    return REPLACE_TRIGGERS[token]


def _at(inputs: dict, path: str):
    node = inputs
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def trigger_values(token: str, inputs: dict) -> dict:
    """The inputs that decide whether ``token`` is replaced: equal values, no replacement."""
    paths = triggers(token).paths
    if paths == ALL_INPUTS:
        return {key: value for key, value in inputs.items() if key not in IGNORED_INPUTS}
    return {path: _at(inputs, path) for path in paths}
