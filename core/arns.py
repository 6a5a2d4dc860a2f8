"""References to AWS resources: the forms of image URIs and model archive URLs a stack may name,
and the ARN builders that let every IAM statement name exact resources."""

from __future__ import annotations

import re
from dataclasses import dataclass

ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})"
)
ALGORITHM_IMAGE = re.compile(r"(?P<framework>[a-z][a-z0-9-]*)(?::(?P<version>[\w.-]+))?")
S3_MODEL_DATA = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+\.tar\.gz)")


@dataclass(frozen=True)
class Account:
    """Where the stack deploys: partition (aws, aws-cn, ...), region and account id."""

    partition: str
    region: str
    account_id: str


def s3_object(partition: str, model_data_url: str) -> str:
    match = S3_MODEL_DATA.fullmatch(model_data_url)
    if match is None:
        raise ValueError(f"not an S3 model archive URL: {model_data_url!r}")
    return f"arn:{partition}:s3:::{match['bucket']}/{match['key']}"


def ecr_repository(partition: str, image_uri: str) -> str:
    """The repository ARN of an ECR image URI (registry account and region come from the URI)."""
    match = ECR_IMAGE.fullmatch(image_uri)
    if match is None:
        raise ValueError(f"not an ECR image URI: {image_uri!r}")
    return f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"


def log_group(account: Account, name: str) -> str:
    return f"arn:{account.partition}:logs:{account.region}:{account.account_id}:log-group:{name}"


def sagemaker_runtime_integration(partition: str, region: str, endpoint_name: str) -> str:
    """API Gateway's AWS-integration URI for InvokeEndpoint (path override)."""
    return f"arn:{partition}:apigateway:{region}:runtime.sagemaker:path/endpoints/{endpoint_name}/invocations"
