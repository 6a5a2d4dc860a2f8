"""The partition, region and account a stack deploys into, as a Pulumi output."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.arns import Account


def current(region: str, parent: pulumi.Resource) -> pulumi.Output[Account]:
    options = pulumi.InvokeOutputOptions(parent=parent)
    identity = aws.get_caller_identity_output(opts=options)
    partition = aws.get_partition_output(opts=options)
    return pulumi.Output.all(partition.partition, identity.account_id).apply(
        lambda values: Account(partition=values[0], region=region, account_id=values[1]))
