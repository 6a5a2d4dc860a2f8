"""Where a stack lives: the one place that tells the local runtime from AWS.

Every `canary` command works through a ``Backend``: how the stack file is applied (written, or
`pulumi up`), where metrics come from (the local runtime, CloudWatch), where the quality gate
asks its questions (the local runtime, SageMaker's InvokeEndpoint) and what the API serves right
now. Implementations are chosen here by the stack, once; nothing else compares stack names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from canary.metrics_sources import AnswerCounts, ApiGatewayStages, CloudWatchMetrics, LocalRuntime
from canary.prediction_sources import LocalRuntimeSource, PredictionSource, SageMakerSource
from canary.run_registry import LocalRegistry, Registry, SsmRegistry
from canary.stacks import ApplyError, LocalStack, PulumiStack, StackOps
from canary.traffic import FileTraffic, StageTraffic, Traffic
from core import names, run_state
from core.config import StackConfig
from core.metrics import MetricsError, MetricsSource
from core.routing import Routing
from core.stack_file import DEFAULT_STACK

MSG_NO_API_ID = ("stack {stack} exports no rest_api_id (deployed before this version of the program): run "
                 "`pulumi up` once, then the canary's share can be moved on the stage directly")


class Backend(Protocol):
    """Everything a command may ask of a stack's home."""

    @property
    def stack(self) -> StackOps: ...

    def metrics(self, config: StackConfig) -> MetricsSource: ...

    def predictions(self, config: StackConfig) -> PredictionSource: ...

    def served(self, config: StackConfig) -> Routing | None:
        """The traffic the API serves now; None where only the stack file can tell."""
        ...

    @property
    def quality_by_default(self) -> bool:
        """Whether `promote` and `run` judge predictions when the stack does not say: where asking
        the versions costs nothing."""
        ...

    @property
    def drift(self) -> tuple[str, str]:
        """What serves the API, and what to do when it routes otherwise than the stack file."""
        ...

    def target(self, config: StackConfig) -> str:
        """Where invocations go, for messages."""
        ...

    def traffic(self, config: StackConfig) -> Traffic:
        """Where the canary's share is moved without an update of the stack (canary.traffic)."""
        ...

    @property
    def add_version(self) -> str:
        """How a version the stack file does not list becomes one it can route to."""
        ...

    def registry(self, config: StackConfig) -> Registry:
        """Where the stack's run is held and seen by every operator (canary.run_registry)."""
        ...


def runtime_url(config: StackConfig) -> str:
    return f"http://127.0.0.1:{config.local.runtime_port}"


@dataclass
class LocalBackend:
    """The embedded default: the stack file is the running API's config, and the local runtime
    serves metrics, predictions and the stage."""

    stack: StackOps

    def metrics(self, config: StackConfig) -> MetricsSource:
        return LocalRuntime(runtime_url(config))

    def predictions(self, config: StackConfig) -> PredictionSource:
        return LocalRuntimeSource(runtime_url(config), config.endpoint.name)

    def served(self, config: StackConfig) -> Routing | None:
        return served_locally(config)

    quality_by_default = True  # the local runtime answers the questions at no cost
    add_version = ("add it under ratings:models in the stack file: the running local API starts its model server "
                   "(training it first when artifacts/ has none), then run this again")
    drift = ("the running local API", "it has not applied the file's last edit: a version's model server is "
                                      "starting or failed to start, or the edit was refused (its output says why)")

    def target(self, config: StackConfig) -> str:
        return f"endpoint {config.endpoint.name} on the local runtime"

    def traffic(self, config: StackConfig) -> Traffic:
        return FileTraffic()

    def registry(self, config: StackConfig) -> Registry:
        record = run_state.path_for(self.stack.path)
        return LocalRegistry(record.with_name(record.name.removesuffix(".json") + ".pause"))


@dataclass
class CloudBackend:
    """A stack on AWS: `pulumi up` applies it; CloudWatch and SageMaker answer with the caller's
    credentials (boto3 is imported only when a command needs it)."""

    stack: PulumiStack

    quality_by_default = False  # every question is a SageMaker invocation the account pays for
    add_version = "add it under ratings:models and run `pulumi up` first"
    drift = ("the API Gateway stage", "it was changed outside this stack (console, CLI, another tool) or an "
                                      "update did not finish; `pulumi preview --refresh` shows the difference and "
                                      "`pulumi up --refresh` puts the file's routing back, except the canary's "
                                      "share, which the stack leaves to `canary set --percent N`")

    def metrics(self, config: StackConfig) -> MetricsSource:
        import boto3

        counts = AnswerCounts(names.answers_namespace(config.endpoint.name), config.api.stage_name)
        return CloudWatchMetrics(boto3.client("cloudwatch", region_name=config.region), answers=counts)

    def stages(self, config: StackConfig) -> ApiGatewayStages:
        import boto3

        return ApiGatewayStages(boto3.client("apigateway", region_name=config.region))

    def predictions(self, config: StackConfig) -> PredictionSource:
        return SageMakerSource.for_region(config.region, config.endpoint.name)

    def served(self, config: StackConfig) -> Routing | None:
        """GetStage of the stack's stage; None for a stack last deployed before it exported its API's id."""
        try:
            rest_api_id = self._rest_api_id
        except ApplyError as error:
            raise MetricsError(str(error)) from None
        return None if rest_api_id is None else self.stages(config).served(rest_api_id, config.api.stage_name)

    @functools.cached_property
    def _rest_api_id(self) -> str | None:
        """Read once per process (a failure is not kept): `status --watch` would otherwise run the
        Pulumi CLI at every refresh for a value only a replacement of the API changes."""
        found = self.stack.output("rest_api_id")
        return None if found is None else str(found)

    def target(self, config: StackConfig) -> str:
        return f"endpoint {config.endpoint.name} on SageMaker in {config.region}"

    def traffic(self, config: StackConfig) -> Traffic:
        """UpdateStage on the stack's stage; its REST API's id is the stack output ``rest_api_id``."""
        try:
            rest_api_id = self._rest_api_id
        except ApplyError as error:
            raise MetricsError(str(error)) from None
        if rest_api_id is None:
            raise MetricsError(MSG_NO_API_ID.format(stack=self.stack.name))
        return StageTraffic(self.stages(config).client, rest_api_id, config.api.stage_name)

    def registry(self, config: StackConfig) -> Registry:
        import boto3

        return SsmRegistry(boto3.client("ssm", region_name=config.region), config.endpoint.name)


def served_locally(config: StackConfig) -> Routing:
    """What the running local gateway serves (its GetStage answer)."""
    return LocalRuntime(runtime_url(config)).served(config.api.stage_name)


def for_stack(name: str, project_dir: Path) -> Backend:
    if name == DEFAULT_STACK:
        return LocalBackend(LocalStack(name, project_dir, served=served_locally))
    return CloudBackend(PulumiStack(name, project_dir))
