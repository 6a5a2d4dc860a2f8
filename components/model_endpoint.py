"""ModelEndpoint: one SageMaker endpoint holding every model version as a production variant."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from core import names, policies, routing
from core.arns import Account
from core.config import Alarms, Autoscaling, ModelVersion

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@dataclass(frozen=True)
class ModelEndpointArgs:
    endpoint_name: str
    models: Sequence[ModelVersion]
    images: Mapping[str, str]  # resolved ECR image URI per model version
    default_variant: str  # weight 1; the others 0 (API traffic always names its variant)
    serving: Sequence[str]  # versions that take API traffic: autoscaled when autoscaling is set
    account: pulumi.Input[Account]
    alarms: Alarms = field(default_factory=Alarms)
    autoscaling: Autoscaling | None = None
    alarm_actions: Sequence[pulumi.Input[str]] = ()  # ARNs every alarm notifies (ALARM and OK)
    log_retention_days: int = 30  # the containers' log group


class ModelEndpoint(pulumi.ComponentResource):
    """Execution role, a Model per version, the endpoint configuration, the endpoint, its
    per-variant alarms and autoscaling.

    The endpoint carries no deployment guardrails: SageMaker applies them only between endpoint
    configurations with the same variant names, and adding or retiring a version changes them.
    An update is then SageMaker's plain blue/green swap, which rolls back on its own when the new
    fleet fails; `canary` checks the outcome with DescribeEndpoint. Versions are judged by the
    API-level canary, and the alarms serve operators (they are not tied to the endpoint, so the
    version set can change without touching inputs that would replace it).
    """

    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    # The configuration this update created: what DescribeEndpoint must show after it. Not the
    # Endpoint's own `endpoint_config_name`, which the provider reads back from DescribeEndpoint
    # after every update (terraform-provider-aws internal/service/sagemaker/endpoint.go:
    # resourceEndpointUpdate returns resourceEndpointRead), so it names whatever SageMaker rolled
    # back to and a check against it could never fail.
    endpoint_config_name: pulumi.Output[str]

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ratings:model_endpoint:ModelEndpoint", name, None, opts)
        self._name = name
        role, role_policy = self._execution_role(args)
        models = {
            model.name: aws.sagemaker.Model(
                names.model(name, model.name),
                execution_role_arn=role.arn,
                primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                    image=args.images[model.name], model_data_url=model.model_data,
                    environment=dict(model.environment) or None),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
            for model in args.models
        }
        endpoint_config = self._endpoint_configuration(args, models)
        for model in args.models:
            self._alarms(args, model.name)
        # SageMaker would create this group itself and keep it forever, past `destroy`
        logs = aws.cloudwatch.LogGroup(
            f"{name}-endpoint-logs", name=names.endpoint_log_group(args.endpoint_name),
            retention_in_days=args.log_retention_days, opts=pulumi.ResourceOptions(parent=self))
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=endpoint_config.name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]))
        if args.autoscaling is not None:
            for version in args.serving:
                self._autoscaling(args.autoscaling, version, endpoint)
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.endpoint_config_name = endpoint_config.name
        self.register_outputs({"endpoint_name": endpoint.name, "endpoint_arn": endpoint.arn,
                               "endpoint_config_name": endpoint_config.name})

    def _execution_role(self, args: ModelEndpointArgs) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        name, account = self._name, pulumi.Output.from_input(args.account)
        role = aws.iam.Role(
            names.execution_role(name),
            assume_role_policy=account.apply(
                lambda acct: json.dumps(policies.assume_role(SAGEMAKER_SERVICE, acct))),
            description=f"SageMaker execution role of endpoint {args.endpoint_name}",
            opts=pulumi.ResourceOptions(parent=self))
        policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=role.id,
            policy=account.apply(lambda acct: json.dumps(policies.sagemaker_execution(
                acct, args.endpoint_name, [m.model_data for m in args.models],
                [args.images[m.name] for m in args.models]))),
            opts=pulumi.ResourceOptions(parent=self))
        return role, policy

    def _endpoint_configuration(self, args: ModelEndpointArgs,
                                models: Mapping[str, aws.sagemaker.Model]) -> aws.sagemaker.EndpointConfiguration:
        weights = routing.variant_weights([m.name for m in args.models], args.default_variant)
        variants = [
            aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name=model.name,
                model_name=models[model.name].name,
                initial_instance_count=model.instance_count,
                instance_type=model.instance_type,
                initial_variant_weight=weights[model.name])
            for model in args.models
        ]
        return aws.sagemaker.EndpointConfiguration(
            names.endpoint_config(self._name), production_variants=variants,
            opts=pulumi.ResourceOptions(parent=self))

    def _alarms(self, args: ModelEndpointArgs, version: str) -> list[aws.cloudwatch.MetricAlarm]:
        """The OK transition notifies too, so whoever got the alarm also hears it cleared."""
        alarms, actions = args.alarms, args.alarm_actions
        common: dict[str, Any] = dict(
            namespace="AWS/SageMaker", period=60, evaluation_periods=alarms.evaluation_minutes,
            dimensions={"EndpointName": args.endpoint_name, "VariantName": version},
            treat_missing_data="notBreaching",
            alarm_actions=list(actions) or None, ok_actions=list(actions) or None)
        errors = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{version}-5xx",
            alarm_description=f"{version}: model 5xx errors per minute reached {alarms.errors_5xx}",
            metric_name="Invocation5XXErrors", statistic="Sum", threshold=alarms.errors_5xx,
            comparison_operator="GreaterThanOrEqualToThreshold",
            opts=pulumi.ResourceOptions(parent=self), **common)
        latency = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{version}-latency",
            alarm_description=f"{version}: model latency p99 above {alarms.latency_p99_ms} ms",
            metric_name="ModelLatency", extended_statistic="p99",
            threshold=alarms.latency_p99_ms * 1000,  # ModelLatency is in microseconds
            comparison_operator="GreaterThanThreshold",
            opts=pulumi.ResourceOptions(parent=self), **common)
        return [errors, latency]

    def _autoscaling(self, scaling: Autoscaling, version: str, endpoint: aws.sagemaker.Endpoint) -> None:
        target = aws.appautoscaling.Target(
            f"{self._name}-{version}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{version}"),
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
            opts=pulumi.ResourceOptions(parent=self))
        aws.appautoscaling.Policy(
            f"{self._name}-{version}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.
            PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=scaling.invocations_per_instance,
                predefined_metric_specification=aws.appautoscaling.
                PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"),
                scale_in_cooldown=300, scale_out_cooldown=60),
            opts=pulumi.ResourceOptions(parent=self))
