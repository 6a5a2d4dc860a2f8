"""AlarmNotifications: the SNS topic the stack's alarms notify, and its subscriptions."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from core.notifications import Notifications


@dataclass(frozen=True)
class AlarmNotificationsArgs:
    notifications: Notifications
    endpoint_name: str  # named in the topic's display name, which emails show as their sender


class AlarmNotifications(pulumi.ComponentResource):
    """One standard SNS topic and a subscription per email address and per webhook.

    The topic is auto-named and takes no input that depends on the versions, so a rollout never
    replaces it. It is not encrypted: CloudWatch alarms cannot publish to a topic encrypted with
    the AWS managed SNS key, and a customer key would be one more thing to manage per stack.
    Email and HTTPS subscriptions stay pending until the recipient confirms them.
    """

    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmNotificationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ratings:notifications:AlarmNotifications", name, None, opts)
        topic = aws.sns.Topic(
            f"{name}-topic",
            display_name=f"{args.endpoint_name} alarms",
            opts=pulumi.ResourceOptions(parent=self))
        for subscription in args.notifications.subscriptions:
            aws.sns.TopicSubscription(
                f"{name}-{subscription.protocol}-{subscription.key}",
                topic=topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                opts=pulumi.ResourceOptions(parent=self))
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": topic.arn})
