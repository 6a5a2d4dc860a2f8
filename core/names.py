"""Logical names of the program's resources and the physical names Pulumi derives from them.

Pulumi auto-names a resource ``<logical name>-<7 random characters>``, and the AWS name limits
apply to that result; the config validation checks them here, with the same functions the
components name their resources with, so a config that validates also deploys.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import aws_limits

AUTONAME_SUFFIX = 8  # "-" plus 7 random characters


def api(endpoint: str) -> str:
    return f"{endpoint}-api"


def model(endpoint: str, version: str) -> str:
    return f"{endpoint}-{version}"


def endpoint_config(endpoint: str) -> str:
    return f"{endpoint}-config"


def execution_role(endpoint: str) -> str:
    return f"{endpoint}-execution-role"


def invoke_role(endpoint: str) -> str:
    return f"{api(endpoint)}-invoke-role"


def cloudwatch_role(endpoint: str) -> str:
    return f"{api(endpoint)}-cloudwatch-role"


def dashboard(endpoint: str) -> str:
    """An explicit name (CloudWatch requires one): any endpoint name is a valid dashboard name."""
    return f"{endpoint}-rollout"


def notifications(endpoint: str) -> str:
    return f"{endpoint}-alarms"


# Log groups AWS writes to under names it chooses; the stack creates them first, so it owns their
# retention and `pulumi destroy` removes them.

def endpoint_log_group(endpoint: str) -> str:
    """SageMaker's container logs ("Log groups and streams that Amazon SageMaker AI sends to Amazon
    CloudWatch Logs": ``/aws/sagemaker/Endpoints/[EndpointName]``)."""
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def execution_log_group(rest_api_id: str, stage: str) -> str:
    """API Gateway's execution log of a stage ("Execution logging for REST APIs":
    ``API-Gateway-Execution-Logs_{rest-api-id}/{stage_name}``)."""
    return f"API-Gateway-Execution-Logs_{rest_api_id}/{stage}"


def canary_log_group(stage_group: str) -> str:
    """The canary's own copy of a stage log group ("Set up an API Gateway canary release deployment":
    the canary's execution and access log groups carry a ``/Canary`` suffix; that page spells the
    execution prefix ``API-Gateway-Execution-Logs/``, every other page and the stage's group
    ``API-Gateway-Execution-Logs_``, which is the form used here)."""
    return f"{stage_group}/Canary"


def answers_namespace(endpoint: str) -> str:
    """The CloudWatch namespace the access log's metric filters count the API's answers in, per
    stack (a metric filter's dimensions can only be taken from the log line, which names no stack)."""
    return f"RatingsApi/{endpoint}"


# The local runtime gives each model server it starts an identity (an environment variable) that
# the server answers on /ping (a header), so a health check knows the process on the port is the one
# it started (serving/ answers it, emulator/ checks it).
MODEL_SERVER_IDENTITY_ENV = "RATINGS_SERVER_TOKEN"
MODEL_SERVER_IDENTITY_HEADER = "X-Ratings-Server"


def run_registry(endpoint: str) -> str:
    """The SSM parameters (path) a cloud stack's run is held and recorded under (canary/run_registry.py)."""
    return f"/ratings/{endpoint}/canary-run"


def answers_filter(filter_name: str) -> str:
    return f"ratings-answers-{filter_name}"


@dataclass(frozen=True)
class AutoName:
    """One auto-named resource: its logical name, what it is, and the AWS limit on its name."""

    logical: str
    kind: str
    limit: int

    @property
    def fits(self) -> bool:
        return len(self.logical) + AUTONAME_SUFFIX <= self.limit


def auto_names(endpoint: str, versions: list[str]) -> list[AutoName]:
    """Every auto-named resource whose AWS name has a limit a long name can reach."""
    role, config, sagemaker_model = (aws_limits.max_role_name(), aws_limits.rule("EndpointConfigName").max_length,
                                     aws_limits.rule("ModelName").max_length)
    return ([AutoName(model(endpoint, version), "SageMaker model", sagemaker_model) for version in versions]
            + [AutoName(endpoint_config(endpoint), "endpoint configuration", config),
               AutoName(execution_role(endpoint), "IAM role", role),
               AutoName(invoke_role(endpoint), "IAM role", role),
               AutoName(cloudwatch_role(endpoint), "IAM role", role)])
