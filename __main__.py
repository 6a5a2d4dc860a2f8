"""The Pulumi program: read the stack config once, validate it, wire the components."""

import pulumi
import pulumi_aws as aws

from components.dashboard import RolloutDashboard, RolloutDashboardArgs
from components.model_endpoint import ModelEndpoint, ModelEndpointArgs
from components.notifications import AlarmNotifications, AlarmNotificationsArgs
from components.ratings_api import RatingsApi, RatingsApiArgs
from core import names, routing
from core.arns import Account
from core.config import PROJECT, REGION_KEY, SECTIONS, StackConfig, parse
from core.fields import ConfigError
from training import images


def read_stack_config() -> tuple[StackConfig, dict[str, str]]:
    """The validated config and resolved images; a bad config stops before any resource."""
    project = pulumi.Config(PROJECT)
    values = {f"{PROJECT}:{key}": project.get_object(key) for key in SECTIONS}
    values[REGION_KEY] = pulumi.Config("aws").get("region")
    try:
        config = parse(values)
        return config, images.resolve_all(config)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None


def deploy_account(region: str) -> pulumi.Output[Account]:
    """The partition and account the stack deploys into (every ARN of a policy names them)."""
    return pulumi.Output.all(aws.get_partition_output().partition, aws.get_caller_identity_output().account_id).apply(
        lambda values: Account(partition=values[0], region=region, account_id=values[1]))


config, image_uris = read_stack_config()
account = deploy_account(config.region)
notifications = AlarmNotifications(
    names.notifications(config.endpoint.name),
    AlarmNotificationsArgs(config.notifications, config.endpoint.name)) if config.notifications else None
endpoint = ModelEndpoint(config.endpoint.name, ModelEndpointArgs(
    endpoint_name=config.endpoint.name, models=config.models, images=image_uris,
    default_variant=config.endpoint.default_variant, serving=routing.serving_versions(config.routing),
    account=account, alarms=config.endpoint.alarms, autoscaling=config.endpoint.autoscaling,
    alarm_actions=[notifications.topic_arn] if notifications else [],
    log_retention_days=config.endpoint.log_retention_days))
api = RatingsApi(names.api(config.endpoint.name), RatingsApiArgs(
    api=config.api, routing=config.routing, account=account, endpoint_name=endpoint.endpoint_name,
    endpoint_arn=endpoint.endpoint_arn))
dashboard = RolloutDashboard(names.dashboard(config.endpoint.name), RolloutDashboardArgs(config, api.rest_api_name,
                                                                                       api.web_acl_name))

pulumi.export("invoke_url", api.invoke_url)
pulumi.export("ratings_url", api.invoke_url.apply(lambda url: f"{url}/predicted-ratings/{{user_id}}?items="))
if api.api_key_id is not None:
    pulumi.export("api_key_id", api.api_key_id)
pulumi.export("rest_api_id", api.rest_api_id)  # `canary status` reads the stage with GetStage
pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("endpoint_config_name", endpoint.endpoint_config_name)  # `canary` verifies the endpoint runs it
pulumi.export("live_version", config.routing.live)
pulumi.export("dashboard_name", dashboard.dashboard_name)
if notifications is not None:
    pulumi.export("alarm_topic_arn", notifications.topic_arn)
pulumi.export("canary_version", config.routing.canary.version if config.routing.canary else None)
