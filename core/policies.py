"""IAM policy documents, built from exact ARNs.

A wildcard resource appears only for actions that have no resource-level permissions
(listed in ``ACTIONS_WITHOUT_RESOURCES``), and then with a condition where IAM offers one.
"""

from __future__ import annotations

from typing import Any

from core import arns, names

Policy = dict[str, Any]

ACTIONS_WITHOUT_RESOURCES = frozenset({"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"})
SAGEMAKER_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
# Service Authorization Reference, CloudWatch Logs: CreateLogStream and DescribeLogStreams authorize
# against the log-group resource, PutLogEvents and GetLogEvents against the log-stream resource.
LOG_GROUP_ACTIONS = ["logs:CreateLogStream", "logs:DescribeLogStreams"]
LOG_STREAM_ACTIONS = ["logs:PutLogEvents"]


def _document(*statements: Policy) -> Policy:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(sid: str, actions: list[str], resources: list[str], condition: Policy | None = None) -> Policy:
    statement: Policy = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def assume_role(service: str, account: arns.Account | None = None) -> Policy:
    """Trust policy for an AWS service; scoped to our account when one is given (confused deputy).

    Only for services that put ``aws:SourceAccount`` into the request when they assume the role:
    API Gateway does not when it assumes integration credentials (the condition then denies every
    request with a 500), so its roles are built without an account.
    """
    statement: Policy = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account.account_id}}
    return _document(statement)


def sagemaker_execution(account: arns.Account, endpoint_name: str, model_data_urls: list[str],
                        image_uris: list[str]) -> Policy:
    """What SageMaker needs to host the models: read each archive, pull each image, write logs."""
    objects = sorted({arns.s3_object(account.partition, url) for url in model_data_urls})
    repositories = sorted({arns.ecr_repository(account.partition, uri) for uri in image_uris})
    group = arns.log_group(account, names.endpoint_log_group(endpoint_name))
    return _document(
        _allow("ReadModelArchives", ["s3:GetObject"], objects),
        _allow("PullModelImages", ECR_PULL_ACTIONS, repositories),
        _allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        _allow("CreateEndpointLogGroup", ["logs:CreateLogGroup"], [group]),
        _allow("CreateEndpointLogStreams", LOG_GROUP_ACTIONS, log_group_resources(group)),
        _allow("WriteEndpointLogs", LOG_STREAM_ACTIONS, [f"{group}:log-stream:*"]),
        _allow("PublishEndpointMetrics", ["cloudwatch:PutMetricData"], ["*"],
               {"StringEquals": {"cloudwatch:namespace": SAGEMAKER_METRICS_NAMESPACE}}),
    )


def invoke_endpoint(endpoint_arn: str) -> Policy:
    """API Gateway's integration credentials: invoke exactly one endpoint."""
    return _document(_allow("InvokeRatingsEndpoint", ["sagemaker:InvokeEndpoint"], [endpoint_arn]))


def api_gateway_account_logging(account: arns.Account) -> Policy:
    """The account-wide role API Gateway uses for execution and access logs in this region.

    It serves every REST API of the account and region, so it is scoped to the account's log
    groups there rather than to this API's.
    """
    groups = arns.log_group(account, "*")
    return _document(
        _allow("ApiGatewayLogGroups", ["logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:FilterLogEvents",
                                       *LOG_GROUP_ACTIONS], [groups]),
        _allow("ApiGatewayLogStreams", [*LOG_STREAM_ACTIONS, "logs:GetLogEvents"], [f"{groups}:log-stream:*"]),
    )


def log_group_resources(group_arn: str) -> list[str]:
    """A log group as IAM matches it: its ARN, and the ``:*`` form CloudWatch Logs reports."""
    return [group_arn, f"{group_arn}:*"]
