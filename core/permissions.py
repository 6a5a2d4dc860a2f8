"""The IAM policies that deploy and operate a stack, from one table of the AWS calls the code makes.

Two people need credentials. The deployer runs `pulumi up`, `preview`, `refresh` and `destroy`:
the provider's calls for every resource the program declares (hashicorp/terraform-provider-aws,
each resource's Create/Read/Update/Delete and the transparent tagging of
``internal/provider/sdkv2/tags_interceptor.go``). The operator runs `canary` on a cloud stack,
which runs the same `pulumi up` and makes its own calls besides.

Each ``Grant`` is one statement: the actions, the resources as ARN patterns of this stack's names,
the config feature it depends on, and who calls it (``why``). Resources are as narrow as the names
allow: auto-named resources end in Pulumi's random suffix, so their pattern ends in ``*``; the
REST API's id is chosen by AWS, so API Gateway statements cover the region's REST APIs. Actions
that take no resource (Service Authorization Reference: no resource type) get ``*``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core import names, policies
from core.config import StackConfig
from core.config_edge import AuthMode

SAGEMAKER_TAGS = ("sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags")
LOG_GROUP_ACTIONS = ("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
                     "logs:DeleteRetentionPolicy", "logs:ListTagsForResource", "logs:TagResource",
                     "logs:UntagResource", "logs:PutMetricFilter", "logs:DescribeMetricFilters",
                     "logs:DeleteMetricFilter")
ROLE_ACTIONS = ("iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
                "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole")
ALARM_ACTIONS = ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")
API_VERBS = ("apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")
AUTOSCALING_ROLE = ("role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")


class Reader(StrEnum):
    DEPLOYER = "deployer"  # pulumi up / preview / refresh / destroy
    OPERATOR = "operator"  # canary on a cloud stack: the deployer's calls and its own


class Feature(StrEnum):
    ALWAYS = "always"
    AUTOSCALING = "autoscaling"
    NOTIFICATIONS = "notifications"
    API_KEY = "api_key"
    ACCOUNT_ROLE = "account_role"
    WAF = "waf"
    DOMAIN = "domain"
    DNS = "dns"  # the custom domain's alias record


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # str.format templates over ``Scope.values``
    why: str
    feature: Feature = Feature.ALWAYS
    reader: Reader = Reader.DEPLOYER
    condition: Mapping[str, Any] | None = None
    # False: only a `pulumi up` that changes these resources calls these actions, and no rollout
    # step changes them (tests/test_lifecycle.py), so the operator's policy leaves them out
    in_rollouts: bool = True


SAGEMAKER = "arn:{partition}:sagemaker:{region}:{account}"
SAGEMAKER_MODELS = SAGEMAKER + ":model/{endpoint_arn_name}-*"
SAGEMAKER_CONFIGS = SAGEMAKER + ":endpoint-config/{endpoint_arn_name}-config-*"
SAGEMAKER_ENDPOINT = SAGEMAKER + ":endpoint/{endpoint_arn_name}"
ROLES = "arn:{partition}:iam::{account}:role"
LOGS = "arn:{partition}:logs:{region}:{account}:log-group"
API = "arn:{partition}:apigateway:{region}::"
WAF_ACLS = "arn:{partition}:wafv2:{region}:{account}:regional/webacl/" + names.api("{endpoint}") + "-web-acl-*/*"

# The grants whose actions take no resource type ("*", no condition) share one statement: a
# managed policy holds 6,144 characters, and IAM evaluates one statement as it does several.
UNSCOPED_SID = "NoResourceType"

GRANTS: tuple[Grant, ...] = (
    Grant("SageMakerModels", ("sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel",
                              *SAGEMAKER_TAGS), (SAGEMAKER_MODELS,),
          "aws.sagemaker.Model (sagemaker/model.go; the provider's tagging lists tags at every read)"),
    Grant("SageMakerEndpointConfigs", ("sagemaker:CreateEndpointConfig", "sagemaker:DescribeEndpointConfig",
                                       "sagemaker:DeleteEndpointConfig", *SAGEMAKER_TAGS,
                                       "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"), (SAGEMAKER_CONFIGS,),
          "aws.sagemaker.EndpointConfiguration (sagemaker/endpoint_configuration.go); CreateEndpoint and "
          "UpdateEndpoint are also authorized on the configuration they name"),
    Grant("SageMakerEndpoint", ("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint",
                                "sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities",
                                *SAGEMAKER_TAGS),
          (SAGEMAKER_ENDPOINT,),
          "aws.sagemaker.Endpoint (sagemaker/endpoint.go); Application Auto Scaling checks the caller may "
          "DescribeEndpoint and UpdateEndpointWeightsAndCapacities; canary's check after every step "
          "(DescribeEndpoint)"),
    Grant("StackRoles", ROLE_ACTIONS, (ROLES + "/{endpoint}-*",),
          "aws.iam.Role and aws.iam.RolePolicy (iam/role.go, iam/role_policy.go: every read lists the inline and "
          "attached policies, delete lists instance profiles)"),
    Grant("PassExecutionRole", ("iam:PassRole",), (ROLES + "/" + names.execution_role("{endpoint}") + "-*",),
          "CreateModel passes SageMaker its execution role",
          condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
    Grant("PassApiRoles", ("iam:PassRole",), (ROLES + "/" + names.api("{endpoint}") + "-*",),
          "the OpenAPI body names the integration's credentials; aws.apigateway.Account the CloudWatch role",
          condition={"StringEquals": {"iam:PassedToService": "apigateway.amazonaws.com"}}),
    Grant("RestApis", API_VERBS, (API + "/restapis", API + "/restapis/*", API + "/tags/*"),
          "aws.apigateway.RestApi, Deployment, Stage, MethodSettings (apigateway/*.go; REST API actions are "
          "HTTP verbs on paths); canary status reads the stage (GetStage)"),
    Grant("ApiKeys", API_VERBS, (API + "/apikeys", API + "/apikeys/*", API + "/usageplans", API + "/usageplans/*"),
          "aws.apigateway.ApiKey, UsagePlan, UsagePlanKey", Feature.API_KEY),
    Grant("WebAcl", ("wafv2:CreateWebACL", "wafv2:GetWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL",
                     "wafv2:ListTagsForResource", "wafv2:TagResource", "wafv2:UntagResource",
                     "wafv2:AssociateWebACL", "wafv2:GetWebACLForResource"), (WAF_ACLS,),
          "aws.wafv2.WebAcl (wafv2/web_acl.go) and WebAclAssociation (web_acl_association.go: AssociateWebACL "
          "and GetWebACLForResource are authorized on the web ACL and on the stage)", Feature.WAF,
          in_rollouts=False),
    Grant("WebAclOnStage", ("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "wafv2:GetWebACLForResource",
                            "apigateway:SetWebACL"), (API + "/restapis/*/stages/*",),
          "aws.wafv2.WebAclAssociation on the stage; associating a web ACL with a stage also needs API Gateway's "
          "SetWebACL (Service Authorization Reference, AssociateWebACL's dependent actions)", Feature.WAF,
          in_rollouts=False),
    Grant("CustomDomain", API_VERBS, (API + "/domainnames", API + "/domainnames/{domain}",
                                      API + "/domainnames/{domain}/basepathmappings",
                                      API + "/domainnames/{domain}/basepathmappings/*"),
          "aws.apigateway.DomainName and BasePathMapping (apigateway/domain_name.go, base_path_mapping.go)",
          Feature.DOMAIN, in_rollouts=False),
    Grant("DomainRecord", ("route53:GetHostedZone", "route53:ListResourceRecordSets",
                           "route53:ChangeResourceRecordSets"), ("arn:{partition}:route53:::hostedzone/{hosted_zone}",),
          "aws.route53.Record, the domain's alias (route53/record.go)", Feature.DNS, in_rollouts=False),
    Grant("DomainRecordChange", ("route53:GetChange",), ("arn:{partition}:route53:::change/*",),
          "aws.route53.Record waits for its change to be INSYNC (GetChange; the change's id is AWS's)", Feature.DNS,
          in_rollouts=False),
    Grant("ApiGatewayAccount", ("apigateway:GET", "apigateway:PATCH"), (API + "/account",),
          "aws.apigateway.Account (UpdateAccount sets and, on destroy, resets the CloudWatch role)",
          Feature.ACCOUNT_ROLE),
    Grant("StackLogGroups", LOG_GROUP_ACTIONS,
          # each pattern also matches the ":*" form CloudWatch Logs authorizes some actions against,
          # and the canary's "/Canary" copies
          (f"{LOGS}:{{access_logs}}-*", f"{LOGS}:" + names.execution_log_group("*", "{stage}") + "*",
           *policies.log_group_resources(f"{LOGS}:" + names.endpoint_log_group("{endpoint}"))),
          "aws.cloudwatch.LogGroup (logs/group.go) and LogMetricFilter (logs/metric_filter.go)"),
    Grant("ListLogGroups", ("logs:DescribeLogGroups",), ("*",), "aws.cloudwatch.LogGroup reads (no resource type)"),
    Grant("Alarms", (*ALARM_ACTIONS, "cloudwatch:ListTagsForResource", "cloudwatch:TagResource",
                     "cloudwatch:UntagResource"),
          ("arn:{partition}:cloudwatch:{region}:{account}:alarm:{endpoint}-*",),
          "aws.cloudwatch.MetricAlarm (cloudwatch/metric_alarm.go)"),
    Grant("Dashboard", ("cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"),
          ("arn:{partition}:cloudwatch::{account}:dashboard/{dashboard}",),
          "aws.cloudwatch.Dashboard (cloudwatch/dashboard.go)"),
    Grant("ScalableTargets", ("application-autoscaling:RegisterScalableTarget",
                              "application-autoscaling:DeregisterScalableTarget",
                              "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
                              "application-autoscaling:ListTagsForResource", "application-autoscaling:TagResource",
                              "application-autoscaling:UntagResource"),
          ("arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/*",),
          "aws.appautoscaling.Target and Policy (appautoscaling/target.go, policy.go); the target's id is AWS's",
          Feature.AUTOSCALING),
    Grant("DescribeScaling", ("application-autoscaling:DescribeScalableTargets",
                              "application-autoscaling:DescribeScalingPolicies"), ("*",),
          "aws.appautoscaling reads (no resource type)", Feature.AUTOSCALING),
    Grant("TargetTrackingAlarms", ALARM_ACTIONS,
          ("arn:{partition}:cloudwatch:{region}:{account}:alarm:TargetTracking-endpoint/{endpoint}/*",),
          "PutScalingPolicy and DeleteScalingPolicy check the caller may manage the policy's alarms "
          "(Application Auto Scaling User Guide, permissions for API actions on target services)",
          Feature.AUTOSCALING),
    Grant("AutoScalingServiceLinkedRole", ("iam:CreateServiceLinkedRole",),
          ("arn:{partition}:iam::{account}:" + AUTOSCALING_ROLE,),
          "the account's first RegisterScalableTarget for SageMaker creates this role",
          Feature.AUTOSCALING,
          condition={"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}}),
    Grant("AlarmTopic", ("sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic",
                         "sns:Subscribe", "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource"),
          ("arn:{partition}:sns:{region}:{account}:{topic}-*",),
          "aws.sns.Topic (sns/topic.go; pulumi-aws checks GetTopicAttributes before CreateTopic)",
          Feature.NOTIFICATIONS),
    Grant("AlarmSubscriptions", ("sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
                                 "sns:Unsubscribe"), ("*",),
          "aws.sns.TopicSubscription (no resource type)", Feature.NOTIFICATIONS),
    Grant("CallerIdentity", ("sts:GetCallerIdentity",), ("*",), "the provider's start (account id and partition)"),
    Grant("ReadVariantMetrics", ("cloudwatch:GetMetricStatistics", "cloudwatch:GetMetricData"), ("*",),
          "canary status, promote and run read SageMaker's per-variant metrics, the latency's percentile "
          "ranks and the API's answers per version (no resource type)",
          reader=Reader.OPERATOR),
    Grant("QualityGate", ("sagemaker:InvokeEndpoint",), (SAGEMAKER_ENDPOINT,),
          "canary compare and the quality gate of promote and run ask each version", reader=Reader.OPERATOR),
    Grant("RunRegistry", ("ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"),
          ("arn:{partition}:ssm:{region}:{account}:parameter" + names.run_registry("{endpoint}") + "/*",),
          "canary run holds the stack and shares its record with every operator; every command checks it",
          reader=Reader.OPERATOR),
)


@dataclass(frozen=True)
class Scope:
    """Where the policy applies: the account, and the stack whose names fill the patterns."""

    account_id: str
    config: StackConfig

    @property
    def partition(self) -> str:
        return partition_of(self.config.region)

    def values(self) -> dict[str, str]:
        endpoint = self.config.endpoint.name
        return {"partition": self.partition, "region": self.config.region, "account": self.account_id,
                "endpoint": endpoint, "stage": self.config.api.stage_name, "dashboard": names.dashboard(endpoint),
                "topic": names.notifications(endpoint) + "-topic", "access_logs": names.api(endpoint) + "-access-logs",
                # SageMaker writes resource names into its ARNs in lower case (its ARN examples in the
                # Developer Guide and API reference); IAM compares ARNs case-sensitively
                "endpoint_arn_name": endpoint.lower(), **self._domain_values()}

    def _domain_values(self) -> dict[str, str]:
        domain = self.config.api.domain
        if domain is None:
            return {}
        return {"domain": domain.name, "hosted_zone": domain.hosted_zone_id or ""}


def partition_of(region: str) -> str:
    """The partition a region belongs to (AWS General Reference, "Amazon Resource Names")."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def features(config: StackConfig) -> set[Feature]:
    found = {Feature.ALWAYS}
    if config.endpoint.autoscaling is not None:
        found.add(Feature.AUTOSCALING)
    if config.notifications is not None:
        found.add(Feature.NOTIFICATIONS)
    if config.api.auth is AuthMode.API_KEY:
        found.add(Feature.API_KEY)
    if config.api.logging.manage_account_role:
        found.add(Feature.ACCOUNT_ROLE)
    if config.api.waf is not None:
        found.add(Feature.WAF)
    if config.api.domain is not None:
        found.add(Feature.DOMAIN)
        if config.api.domain.hosted_zone_id:
            found.add(Feature.DNS)
    return found


def grants_for(reader: Reader, config: StackConfig) -> list[Grant]:
    readers = {Reader.DEPLOYER} if reader is Reader.DEPLOYER else {Reader.DEPLOYER, Reader.OPERATOR}
    present = features(config)
    return [grant for grant in GRANTS if grant.reader in readers and grant.feature in present
            and (reader is Reader.DEPLOYER or grant.in_rollouts)]


def policy(reader: Reader, scope: Scope) -> dict[str, Any]:
    """The identity-based policy document ``reader`` needs for this stack."""
    values = scope.values()
    statements: list[dict[str, Any]] = []
    unscoped: dict[str, Any] = {"Sid": UNSCOPED_SID, "Effect": "Allow", "Action": [], "Resource": ["*"]}
    for grant in grants_for(reader, scope.config):
        resources = [resource.format(**values) for resource in grant.resources]
        if _unscoped(grant):
            unscoped["Action"] += [action for action in grant.actions if action not in unscoped["Action"]]
            continue
        statement: dict[str, Any] = {"Sid": grant.sid, "Effect": "Allow", "Action": list(grant.actions),
                                     "Resource": resources}
        if grant.condition:
            statement["Condition"] = dict(grant.condition)
        statements.append(statement)
    if unscoped["Action"]:
        statements.append(unscoped)
    return {"Version": "2012-10-17", "Statement": statements}


def _unscoped(grant: Grant) -> bool:
    return tuple(grant.resources) == ("*",) and not grant.condition


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def explain(reader: Reader, config: StackConfig) -> str:
    """Each statement's id, its number of actions and who makes the calls: a policy cannot carry
    comments, so this is where a reviewer learns why each statement is there."""
    grants = grants_for(reader, config)
    unscoped = [grant for grant in grants if _unscoped(grant)]
    rows = [(grant.sid, str(len(grant.actions)), grant.why) for grant in grants if not _unscoped(grant)]
    if unscoped:
        rows.append((UNSCOPED_SID, str(len({a for grant in unscoped for a in grant.actions})),
                     "; ".join(f"{grant.sid}: {grant.why}" for grant in unscoped)))
    widths = [max(len(row[i]) for row in [("statement", "actions", "why"), *rows]) for i in range(2)]
    lines = [f"{'statement':<{widths[0]}}  {'actions':>{widths[1]}}  why"]
    lines += [f"{sid:<{widths[0]}}  {count:>{widths[1]}}  {why}" for sid, count, why in rows]
    return "\n".join(lines) + "\n"
