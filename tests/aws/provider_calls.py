"""The AWS calls the bridged provider makes for each resource type the program declares.

Read from hashicorp/terraform-provider-aws (pulumi-aws 7.x bridges its v6 line): each resource's
Create, Read, Update and Delete functions, the finders and waiters they call, and the transparent
tagging of ``internal/provider/sdkv2/tags_interceptor.go``, which lists a resource's tags after
every read unless the read took them from the resource itself (API Gateway resources and IAM roles
do), and tags and untags on update. Operation names are botocore's; the file and function that
makes each call is given beside it. A resource type the program starts to declare must be added
here, or tests/test_permissions.py fails.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    service: str  # botocore's service name
    operation: str  # botocore's operation name
    where: str  # provider file and function


def _calls(service: str, file: str, *pairs: tuple[str, str]) -> tuple[Call, ...]:
    return tuple(Call(service, operation, f"{file} {function}") for operation, function in pairs)


TAGGED = "tags_interceptor.go run"
SAGEMAKER_TAGS = (("ListTags", TAGGED), ("AddTags", TAGGED), ("DeleteTags", TAGGED))
TAG_RESOURCE = (("TagResource", TAGGED), ("UntagResource", TAGGED))
LISTED_TAGS = (("ListTagsForResource", TAGGED), *TAG_RESOURCE)

PROVIDER_START = _calls("sts", "internal/conns/config.go", ("GetCallerIdentity", "ConfigureProvider"))

CALLS: dict[str, tuple[Call, ...]] = {
    "aws:sagemaker/model:Model": _calls(
        "sagemaker", "internal/service/sagemaker/model.go",
        ("CreateModel", "resourceModelCreate"), ("DescribeModel", "findModelByName"),
        ("DeleteModel", "resourceModelDelete"), *SAGEMAKER_TAGS),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _calls(
        "sagemaker", "internal/service/sagemaker/endpoint_configuration.go",
        ("CreateEndpointConfig", "resourceEndpointConfigurationCreate"),
        ("DescribeEndpointConfig", "findEndpointConfigByName"),
        ("DeleteEndpointConfig", "resourceEndpointConfigurationDelete"), *SAGEMAKER_TAGS),
    "aws:sagemaker/endpoint:Endpoint": _calls(
        "sagemaker", "internal/service/sagemaker/endpoint.go",
        ("CreateEndpoint", "resourceEndpointCreate"), ("DescribeEndpoint", "findEndpointByName"),
        ("UpdateEndpoint", "resourceEndpointUpdate"), ("DeleteEndpoint", "resourceEndpointDelete"),
        *SAGEMAKER_TAGS),
    "aws:iam/role:Role": _calls(
        "iam", "internal/service/iam/role.go",
        ("CreateRole", "retryCreateRole"), ("GetRole", "findRoleByName"),
        ("ListRolePolicies", "findRolePolicyNames"), ("GetRolePolicy", "readRoleInlinePolicies"),
        ("ListAttachedRolePolicies", "findRoleAttachedPolicies"),
        ("UpdateAssumeRolePolicy", "resourceRoleUpdate"), ("UpdateRoleDescription", "resourceRoleUpdate"),
        ("UpdateRole", "resourceRoleUpdate"), ("TagRole", "roleUpdateTags"), ("UntagRole", "roleUpdateTags"),
        ("ListRoleTags", "roleTags"), ("ListInstanceProfilesForRole", "deleteRoleInstanceProfiles"),
        ("DeleteRole", "deleteRole")),
    "aws:iam/rolePolicy:RolePolicy": _calls(
        "iam", "internal/service/iam/role_policy.go",
        ("PutRolePolicy", "resourceRolePolicyPut"), ("GetRolePolicy", "findRolePolicyByTwoPartKey"),
        ("DeleteRolePolicy", "resourceRolePolicyDelete")),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _calls(
        "logs", "internal/service/logs/metric_filter.go",
        ("PutMetricFilter", "resourceMetricFilterPut"), ("DescribeMetricFilters", "findMetricFilterByTwoPartKey"),
        ("DeleteMetricFilter", "resourceMetricFilterDelete")),
    "aws:cloudwatch/logGroup:LogGroup": _calls(
        "logs", "internal/service/logs/group.go",
        ("CreateLogGroup", "resourceGroupCreate"), ("PutRetentionPolicy", "resourceGroupCreate"),
        ("DescribeLogGroups", "findLogGroupByName"), ("DeleteRetentionPolicy", "resourceGroupUpdate"),
        ("DeleteLogGroup", "resourceGroupDelete"), *LISTED_TAGS),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _calls(
        "cloudwatch", "internal/service/cloudwatch/metric_alarm.go",
        ("PutMetricAlarm", "resourceMetricAlarmCreate"), ("DescribeAlarms", "findMetricAlarmByName"),
        ("DeleteAlarms", "resourceMetricAlarmDelete"), *LISTED_TAGS),
    "aws:cloudwatch/dashboard:Dashboard": _calls(
        "cloudwatch", "internal/service/cloudwatch/dashboard.go",
        ("PutDashboard", "resourceDashboardPut"), ("GetDashboard", "findDashboardByName"),
        ("DeleteDashboards", "resourceDashboardDelete")),
    "aws:appautoscaling/target:Target": _calls(
        "application-autoscaling", "internal/service/appautoscaling/target.go",
        ("RegisterScalableTarget", "registerScalableTarget"), ("DescribeScalableTargets", "FindTargetByThreePartKey"),
        ("DeregisterScalableTarget", "resourceTargetDelete"), *LISTED_TAGS),
    "aws:appautoscaling/policy:Policy": _calls(
        "application-autoscaling", "internal/service/appautoscaling/policy.go",
        ("PutScalingPolicy", "resourcePolicyPut"), ("DescribeScalingPolicies", "findScalingPolicies"),
        ("DeleteScalingPolicy", "resourcePolicyDelete")),
    "aws:sns/topic:Topic": _calls(
        "sns", "internal/service/sns/topic.go",
        # pulumi-aws patch 0017 (non-idempotent SNS topic creation) reads the topic before creating it
        ("GetTopicAttributes", "resourceTopicCreate, findTopicAttributesByARN"), ("CreateTopic", "resourceTopicCreate"),
        ("SetTopicAttributes", "putTopicAttribute"), ("DeleteTopic", "resourceTopicDelete"), *LISTED_TAGS),
    "aws:sns/topicSubscription:TopicSubscription": _calls(
        "sns", "internal/service/sns/topic_subscription.go",
        ("Subscribe", "resourceTopicSubscriptionCreate"),
        ("GetSubscriptionAttributes", "findSubscriptionAttributesByARN"),
        ("SetSubscriptionAttributes", "putSubscriptionAttribute"), ("Unsubscribe", "resourceTopicSubscriptionDelete")),
    "aws:apigateway/restApi:RestApi": _calls(
        "apigateway", "internal/service/apigateway/rest_api.go",
        ("CreateRestApi", "resourceRestAPICreate"), ("PutRestApi", "resourceRestAPICreate"),
        ("UpdateRestApi", "resourceRestAPIWithBodyUpdateOperations"), ("GetRestApi", "findRestAPIByID"),
        ("GetResources", "findResources"), ("DeleteRestApi", "resourceRestAPIDelete"), *TAG_RESOURCE),
    "aws:apigateway/deployment:Deployment": _calls(
        "apigateway", "internal/service/apigateway/deployment.go",
        ("CreateDeployment", "resourceDeploymentCreate"), ("GetDeployment", "findDeploymentByTwoPartKey"),
        ("UpdateDeployment", "resourceDeploymentUpdate"), ("DeleteDeployment", "resourceDeploymentDelete")),
    "aws:apigateway/stage:Stage": _calls(
        "apigateway", "internal/service/apigateway/stage.go",
        ("CreateStage", "resourceStageCreate"), ("UpdateStage", "resourceStageUpdate"),
        ("GetStage", "findStageByTwoPartKey"), ("DeleteStage", "resourceStageDelete"), *TAG_RESOURCE),
    "aws:apigateway/methodSettings:MethodSettings": _calls(
        "apigateway", "internal/service/apigateway/method_settings.go",
        ("UpdateStage", "resourceMethodSettingsUpdate"), ("GetStage", "findMethodSettingsByThreePartKey")),
    "aws:apigateway/account:Account": _calls(
        "apigateway", "internal/service/apigateway/account.go",
        ("UpdateAccount", "accountResource.Create, Delete"), ("GetAccount", "findAccount")),
    "aws:apigateway/apiKey:ApiKey": _calls(
        "apigateway", "internal/service/apigateway/api_key.go",
        ("CreateApiKey", "resourceAPIKeyCreate"), ("GetApiKey", "findAPIKeyByID"),
        ("UpdateApiKey", "resourceAPIKeyUpdate"), ("DeleteApiKey", "resourceAPIKeyDelete"), *TAG_RESOURCE),
    "aws:apigateway/usagePlan:UsagePlan": _calls(
        "apigateway", "internal/service/apigateway/usage_plan.go",
        ("CreateUsagePlan", "resourceUsagePlanCreate"), ("GetUsagePlan", "findUsagePlanByID"),
        ("UpdateUsagePlan", "resourceUsagePlanUpdate"), ("DeleteUsagePlan", "resourceUsagePlanDelete"),
        *TAG_RESOURCE),
    "aws:apigateway/usagePlanKey:UsagePlanKey": _calls(
        "apigateway", "internal/service/apigateway/usage_plan_key.go",
        ("CreateUsagePlanKey", "resourceUsagePlanKeyCreate"), ("GetUsagePlanKey", "findUsagePlanKeyByTwoPartKey"),
        ("DeleteUsagePlanKey", "resourceUsagePlanKeyDelete")),
    # read at 00081ce (domain_name.go), 0657871 (base_path_mapping.go), 00655c1 (record.go)
    "aws:apigateway/domainName:DomainName": _calls(
        "apigateway", "internal/service/apigateway/domain_name.go",
        ("CreateDomainName", "resourceDomainNameCreate"), ("GetDomainName", "findDomainByName"),
        ("UpdateDomainName", "resourceDomainNameUpdate"), ("DeleteDomainName", "resourceDomainNameDelete")),
    "aws:apigateway/basePathMapping:BasePathMapping": _calls(
        "apigateway", "internal/service/apigateway/base_path_mapping.go",
        ("CreateBasePathMapping", "resourceBasePathMappingCreate"),
        ("GetBasePathMapping", "findBasePathMappingByThreePartKey"),
        ("UpdateBasePathMapping", "resourceBasePathMappingUpdate"),
        ("DeleteBasePathMapping", "resourceBasePathMappingDelete")),
    "aws:route53/record:Record": _calls(
        "route53", "internal/service/route53/record.go",
        ("GetHostedZone", "findHostedZoneByID"), ("ChangeResourceRecordSets", "resourceRecordCreate"),
        ("GetChange", "waitChangeInsync"), ("ListResourceRecordSets", "findResourceRecordSetByFourPartKey")),
    # read at 0073593 (web_acl.go) and 011a8ee (web_acl_association.go)
    "aws:wafv2/webAcl:WebAcl": _calls(
        "wafv2", "internal/service/wafv2/web_acl.go",
        ("CreateWebACL", "resourceWebACLCreate"), ("GetWebACL", "findWebACLByThreePartKey"),
        ("UpdateWebACL", "resourceWebACLUpdate"), ("DeleteWebACL", "resourceWebACLDelete"), *LISTED_TAGS),
    "aws:wafv2/webAclAssociation:WebAclAssociation": _calls(
        "wafv2", "internal/service/wafv2/web_acl_association.go",
        ("AssociateWebACL", "resourceWebACLAssociationCreate"),
        ("GetWebACLForResource", "findWebACLByResourceARN"),
        ("DisassociateWebACL", "resourceWebACLAssociationDelete")),
}
