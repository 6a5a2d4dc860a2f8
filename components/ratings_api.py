"""RatingsApi: the REST API in front of the endpoint, its stage, canary, logs and auth."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import access_log, names, openapi, policies, routing, waf_rules
from core.arns import Account
from core.config import ApiSettings
from core.config_edge import AuthMode
from core.routing import Routing

API_GATEWAY_SERVICE = "apigateway.amazonaws.com"
# A run moves the canary's share with UpdateStage directly (seconds, and an abort before any Pulumi
# operation); Pulumi keeps every other setting of the stage, and a `pulumi up` from the committed
# stack file mid-run leaves the live share alone (stage.go patches percentTraffic only when the
# input differs from the state, and an ignored input takes the state's value).
STAGE_IGNORED = ["canarySettings.percentTraffic"]


@dataclass(frozen=True)
class RatingsApiArgs:
    api: ApiSettings
    routing: Routing
    account: pulumi.Input[Account]
    endpoint_name: pulumi.Input[str]
    endpoint_arn: pulumi.Input[str]


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric,
                                                sampled_requests_enabled=True)


class RatingsApi(pulumi.ComponentResource):
    """Invoke role, RestApi from the OpenAPI document, Deployment, Stage (variant, canary,
    access logs, X-Ray), method settings and the configured auth."""

    invoke_url: pulumi.Output[str]
    web_acl_name: pulumi.Output[str] | None  # with api.waf: the WebACL dimension of its metrics
    api_key_id: pulumi.Output[str] | None
    rest_api_id: pulumi.Output[str]
    rest_api_name: pulumi.Output[str]  # the ApiName dimension of the API's CloudWatch metrics
    document: pulumi.Output[str]

    def __init__(self, name: str, args: RatingsApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ratings:ratings_api:RatingsApi", name, None, opts)
        api = args.api
        self._name = name
        account = pulumi.Output.from_input(args.account)
        invoke_role = self._invoke_role(args.endpoint_arn)
        templates = openapi.Templates.load()
        document = pulumi.Output.all(args.endpoint_name, invoke_role.arn, account).apply(
            lambda values: openapi.render(openapi.build_document(api, templates, openapi.Integration(
                endpoint_name=values[0], credentials_role_arn=values[1], region=values[2].region,
                partition=values[2].partition))))
        rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            description=pulumi.Output.concat("Predicted ratings from SageMaker endpoint ", args.endpoint_name),
            body=document,
            put_rest_api_mode="overwrite",
            endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
            api_key_source="HEADER" if api.auth is AuthMode.API_KEY else None,
            opts=pulumi.ResourceOptions(parent=self))
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=rest_api.id,
            triggers={"document": document.apply(openapi.digest)},
            description="Deployment of the ratings API document",
            opts=pulumi.ResourceOptions(parent=self))
        stage = self._stage(args, account, rest_api, deployment)
        self._method_settings(api, rest_api, stage)
        self.web_acl_name = self._web_acl(api, stage) if api.waf else None
        key = self._usage_plan(api, rest_api, stage) if api.auth is AuthMode.API_KEY else None
        self.api_key_id = key.id if key else None
        self.invoke_url = self._custom_domain(api, rest_api, stage) if api.domain else stage.invoke_url
        self.rest_api_id = rest_api.id
        self.rest_api_name = rest_api.name
        self.document = document
        self.register_outputs({"invoke_url": self.invoke_url, "rest_api_id": rest_api.id})

    def _invoke_role(self, endpoint_arn: pulumi.Input[str]) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._name}-invoke-role",
            assume_role_policy=json.dumps(policies.assume_role(API_GATEWAY_SERVICE)),
            description="API Gateway integration credentials for the ratings endpoint",
            opts=pulumi.ResourceOptions(parent=self))
        aws.iam.RolePolicy(
            f"{self._name}-invoke-policy",
            role=role.id,
            policy=pulumi.Output.from_input(endpoint_arn).apply(
                lambda arn: json.dumps(policies.invoke_endpoint(arn))),
            opts=pulumi.ResourceOptions(parent=self))
        return role

    def _account_logging(self, account: pulumi.Output[Account]) -> list[pulumi.Resource]:
        """API Gateway's account-wide CloudWatch role, without which no stage can log."""
        role = aws.iam.Role(
            f"{self._name}-cloudwatch-role",
            assume_role_policy=json.dumps(policies.assume_role(API_GATEWAY_SERVICE)),
            description="API Gateway account role for execution and access logs",
            opts=pulumi.ResourceOptions(parent=self))
        policy = aws.iam.RolePolicy(
            f"{self._name}-cloudwatch-policy",
            role=role.id,
            policy=account.apply(lambda acct: json.dumps(policies.api_gateway_account_logging(acct))),
            opts=pulumi.ResourceOptions(parent=self))
        settings = aws.apigateway.Account(
            f"{self._name}-account", cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        return [settings]

    def _stage(self, args: RatingsApiArgs, account: pulumi.Output[Account], rest_api: aws.apigateway.RestApi,
               deployment: aws.apigateway.Deployment) -> aws.apigateway.Stage:
        logging = args.api.logging
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-access-logs", retention_in_days=logging.access_log_retention_days,
            opts=pulumi.ResourceOptions(parent=self))
        depends_on = self._account_logging(account) if logging.manage_account_role else []
        named = self._aws_named_log_groups(args, rest_api, log_group)
        depends_on += [*named.values(), *self._answer_filters(args, log_group, named["canary-access-logs"])]
        settings = routing.canary_settings(args.routing)
        canary = aws.apigateway.StageCanarySettingsArgs(
            deployment_id=deployment.id, percent_traffic=settings.percent_traffic,
            stage_variable_overrides=settings.stage_variable_overrides,
            use_stage_cache=False) if settings else None
        return aws.apigateway.Stage(
            f"{self._name}-stage",
            rest_api=rest_api.id,
            deployment=deployment.id,
            stage_name=args.api.stage_name,
            variables=routing.stage_variables(args.routing, args.api.max_items),
            canary_settings=canary,
            cache_cluster_enabled=True if args.api.cache else None,
            cache_cluster_size=args.api.cache.size_gb if args.api.cache else None,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=log_group.arn, format=access_log.format_of(args.routing)),
            xray_tracing_enabled=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, ignore_changes=STAGE_IGNORED))

    def _aws_named_log_groups(self, args: RatingsApiArgs, rest_api: aws.apigateway.RestApi,
                              access_logs: aws.cloudwatch.LogGroup) -> dict[str, aws.cloudwatch.LogGroup]:
        """The groups API Gateway would create on first use (and keep forever, past `destroy`): the
        stage's execution log, the canary's execution and access logs. Created before the stage, so
        the stack owns them and their retention."""
        logging, stage = args.api.logging, args.api.stage_name
        execution = rest_api.id.apply(lambda api_id: names.execution_log_group(api_id, stage))
        groups = {"execution-logs": (execution, logging.execution_log_retention_days),
                  "canary-execution-logs": (execution.apply(names.canary_log_group),
                                            logging.execution_log_retention_days),
                  "canary-access-logs": (access_logs.name.apply(names.canary_log_group),
                                         logging.access_log_retention_days)}
        return {suffix: aws.cloudwatch.LogGroup(f"{self._name}-{suffix}", name=name, retention_in_days=days,
                                                opts=pulumi.ResourceOptions(parent=self))
                for suffix, (name, days) in groups.items()}

    def _answer_filters(self, args: RatingsApiArgs, stage_logs: aws.cloudwatch.LogGroup,
                        canary_logs: aws.cloudwatch.LogGroup) -> list[pulumi.Resource]:
        """Metric filters counting the access log's lines per version (``core.access_log``): what
        the judge reads on AWS beside SageMaker's metrics, so timeouts count against their version."""
        groups = {access_log.LogSide.STAGE: stage_logs.name, access_log.LogSide.CANARY: canary_logs.name}
        namespace = pulumi.Output.from_input(args.endpoint_name).apply(names.answers_namespace)
        return [aws.cloudwatch.LogMetricFilter(
            f"{self._name}-answers-{counted.name}", name=names.answers_filter(counted.name),
            log_group_name=groups[counted.side], pattern=counted.pattern,
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=counted.metric, namespace=namespace, value="1", unit="Count", dimensions=counted.dimensions),
            opts=pulumi.ResourceOptions(parent=self)) for counted in access_log.answer_filters()]

    def _method_settings(self, api: ApiSettings, rest_api: aws.apigateway.RestApi,
                         stage: aws.apigateway.Stage) -> None:
        throttle = api.throttle
        aws.apigateway.MethodSettings(
            f"{self._name}-method-settings",
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                logging_level=api.logging.execution_level.value,
                data_trace_enabled=False,  # full bodies in logs would leak user data
                throttling_rate_limit=throttle.rate_limit,
                throttling_burst_limit=throttle.burst_limit,
                # the stage cache (api.cache): encrypted, and a client may not skip it unauthorized
                caching_enabled=True if api.cache else None,
                cache_ttl_in_seconds=api.cache.ttl_seconds if api.cache else None,
                cache_data_encrypted=True if api.cache else None,
                require_authorization_for_cache_control=True if api.cache else None),
            opts=pulumi.ResourceOptions(parent=self))

    def _web_acl(self, api: ApiSettings, stage: aws.apigateway.Stage) -> pulumi.Output[str]:
        """The stage's web ACL: AWS's managed common and known-bad-inputs rule groups, then a rate
        rule per client IP; every rule's metrics (namespace AWS/WAFV2) feed the dashboard."""
        assert api.waf is not None, "called only with a waf section"
        rules = [aws.wafv2.WebAclRuleArgs(
            name=rule.name, priority=priority, visibility_config=_visibility(rule.metric),
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none={}) if rule.managed else None,
            action=None if rule.managed else aws.wafv2.WebAclRuleActionArgs(block={}),
            statement=aws.wafv2.WebAclRuleStatementArgs(
                managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                    name=rule.name, vendor_name="AWS") if rule.managed else None,
                rate_based_statement=None if rule.managed else aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                    limit=api.waf.rate_limit_per_5min, aggregate_key_type="IP", evaluation_window_sec=300)))
            for priority, rule in enumerate(waf_rules.RULES)]
        acl = aws.wafv2.WebAcl(
            f"{self._name}-web-acl",
            scope="REGIONAL",
            description="Managed rule groups and a per-IP rate limit in front of the ratings API",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow={}),
            rules=rules,
            visibility_config=_visibility(waf_rules.ACL_METRIC),
            opts=pulumi.ResourceOptions(parent=self))
        aws.wafv2.WebAclAssociation(
            f"{self._name}-web-acl-association", resource_arn=stage.arn, web_acl_arn=acl.arn,
            opts=pulumi.ResourceOptions(parent=self))
        return acl.name

    def _custom_domain(self, api: ApiSettings, rest_api: aws.apigateway.RestApi,
                       stage: aws.apigateway.Stage) -> pulumi.Output[str]:
        """A regional custom domain with the stage mapped at its root, and the alias record when
        the hosted zone is given; the API's URL is then the domain's."""
        domain = api.domain
        assert domain is not None, "called only with a domain section"
        name = aws.apigateway.DomainName(
            f"{self._name}-domain", domain_name=domain.name, regional_certificate_arn=domain.certificate_arn,
            endpoint_configuration=aws.apigateway.DomainNameEndpointConfigurationArgs(types="REGIONAL"),
            security_policy="TLS_1_2", opts=pulumi.ResourceOptions(parent=self))
        aws.apigateway.BasePathMapping(
            f"{self._name}-base-path", rest_api=rest_api.id, stage_name=stage.stage_name, domain_name=name.domain_name,
            opts=pulumi.ResourceOptions(parent=self))
        if domain.hosted_zone_id:
            aws.route53.Record(
                f"{self._name}-domain-record", zone_id=domain.hosted_zone_id, name=domain.name, type="A",
                aliases=[aws.route53.RecordAliasArgs(name=name.regional_domain_name, zone_id=name.regional_zone_id,
                                                     evaluate_target_health=False)],
                opts=pulumi.ResourceOptions(parent=self))
        return pulumi.Output.from_input(domain.url)

    def _usage_plan(self, api: ApiSettings, rest_api: aws.apigateway.RestApi,
                    stage: aws.apigateway.Stage) -> aws.apigateway.ApiKey:
        throttle, quota = api.throttle, api.quota
        key = aws.apigateway.ApiKey(
            f"{self._name}-api-key", description="Client key of the ratings API",
            opts=pulumi.ResourceOptions(parent=self))
        plan = aws.apigateway.UsagePlan(
            f"{self._name}-usage-plan",
            api_stages=[aws.apigateway.UsagePlanApiStageArgs(api_id=rest_api.id, stage=stage.stage_name)],
            throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                rate_limit=throttle.rate_limit, burst_limit=throttle.burst_limit),
            quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(
                limit=quota.limit, period=quota.period.value) if quota else None,
            opts=pulumi.ResourceOptions(parent=self))
        aws.apigateway.UsagePlanKey(
            f"{self._name}-usage-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id,
            opts=pulumi.ResourceOptions(parent=self))
        return key
