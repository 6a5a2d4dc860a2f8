"""ARN builders, so every IAM statement names exact resources."""

from __future__ import annotations

from dataclasses import dataclass

from components.config_rules import ECR_IMAGE, S3_MODEL_DATA


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


def sagemaker_endpoint(account: Account, endpoint_name: str) -> str:
    # SageMaker lower-cases endpoint names inside ARNs.
    return (f"arn:{account.partition}:sagemaker:{account.region}:{account.account_id}:"
            f"endpoint/{endpoint_name.lower()}")


def log_group(account: Account, name: str) -> str:
    return f"arn:{account.partition}:logs:{account.region}:{account.account_id}:log-group:{name}"


def sagemaker_runtime_integration(partition: str, region: str, endpoint_name: str) -> str:
    """API Gateway's AWS-integration URI for InvokeEndpoint (path override)."""
    return f"arn:{partition}:apigateway:{region}:runtime.sagemaker:path/endpoints/{endpoint_name}/invocations"
