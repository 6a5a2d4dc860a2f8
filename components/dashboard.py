"""RolloutDashboard: one CloudWatch dashboard per stack to watch a rollout."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core import dashboard_body, names
from core.config import StackConfig


@dataclass(frozen=True)
class RolloutDashboardArgs:
    config: StackConfig
    api_name: pulumi.Input[str]  # the RestApi's name: the ApiName dimension of its metrics
    web_acl_name: pulumi.Input[str] | None = None  # with api.waf: the WebACL dimension of its metrics


class RolloutDashboard(pulumi.ComponentResource):
    """The dashboard whose body core/dashboard_body.py builds from the config.

    Its name comes from the endpoint's, so a new version set or a routing flip rewrites the
    body in place (PutDashboard) and never replaces the dashboard.
    """

    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: RolloutDashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ratings:dashboard:RolloutDashboard", name, None, opts)
        config = args.config
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=names.dashboard(config.endpoint.name),
            dashboard_body=pulumi.Output.all(args.api_name, args.web_acl_name).apply(
                lambda names_: dashboard_body.render(dashboard_body.build(config, names_[0], names_[1]))),
            opts=pulumi.ResourceOptions(parent=self))
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": dashboard.dashboard_name})
