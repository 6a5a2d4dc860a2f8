"""The Pulumi program: read the stack config once, validate it, wire the components."""

import pulumi

from components import images, names
from components.config import PROJECT, REGION_KEY, SECTIONS, ConfigError, StackConfig, parse
from components.dashboard import RolloutDashboard, RolloutDashboardArgs
from components.model_endpoint import ModelEndpoint, ModelEndpointArgs
from components.notifications import AlarmNotifications, AlarmNotificationsArgs
from components.ratings_api import RatingsApi, RatingsApiArgs


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


config, image_uris = read_stack_config()
notifications = AlarmNotifications(
    names.notifications(config.endpoint.name),
    AlarmNotificationsArgs(config.notifications, config.endpoint.name)) if config.notifications else None
alarm_actions = [notifications.topic_arn] if notifications else []
endpoint = ModelEndpoint(config.endpoint.name, ModelEndpointArgs(config, image_uris, alarm_actions))
api = RatingsApi(names.api(config.endpoint.name),
                 RatingsApiArgs(config, endpoint.endpoint_name, endpoint.endpoint_arn))
dashboard = RolloutDashboard(names.dashboard(config.endpoint.name), RolloutDashboardArgs(config, api.rest_api_name))

pulumi.export("invoke_url", api.invoke_url)
pulumi.export("ratings_url", api.invoke_url.apply(lambda url: f"{url}/predicted-ratings/{{user_id}}?items="))
if api.api_key_id is not None:
    pulumi.export("api_key_id", api.api_key_id)
pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("endpoint_config_name", endpoint.endpoint_config_name)  # `canary` verifies the endpoint runs it
pulumi.export("live_version", config.routing.live)
pulumi.export("dashboard_name", dashboard.dashboard_name)
if notifications is not None:
    pulumi.export("alarm_topic_arn", notifications.topic_arn)
pulumi.export("canary_version", config.routing.canary.version if config.routing.canary else None)
