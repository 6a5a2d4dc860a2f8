"""`pulumi preview` and `pulumi up` of the real program, applied to the behaviour model.

``ModelledStack`` is the part of ``pulumi.automation.Stack`` that `canary` uses. Each call runs
the program under mocks for the stack file as it is now (tests/lifecycle.py: auto-names change
exactly when a replace-triggering input changes), diffs the result with the engine's state as
Pulumi does, and applies the differences to the SageMaker model the way the bridged provider
does (hashicorp/terraform-provider-aws, internal/service/sagemaker/):

- a replaced, auto-named resource is created before the old one is deleted (Pulumi's default for
  a replacement whose name is not fixed), so an EndpointConfiguration swap is CreateEndpointConfig,
  UpdateEndpoint, then DeleteEndpointConfig of the old one;
- endpoint.go resourceEndpointUpdate calls UpdateEndpoint when endpoint_config_name changed, waits
  for InService (the waiter succeeds on InService, which is also where SageMaker lands after
  rolling a failed update back) and returns resourceEndpointRead, which sets endpoint_config_name
  from DescribeEndpoint: the state then names what the endpoint runs, not what was asked for;
- endpoint.go resourceEndpointCreate calls CreateEndpoint and waits for InService; a create that
  ends Failed fails the `up`, and the Failed endpoint keeps its name in SageMaker;
- the Stage goes to API Gateway as stage.go sends it (tests/aws/apigateway.py): CreateStage, then
  one UpdateStage of patch operations for each change; an input the program ignores
  (``ignore_changes``) keeps the state's value, so it is never patched (tests/lifecycle.py,
  ``with_ignored``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.automation import OutputValue
from pulumi.automation.events import EngineEvent, OpType, ResourcePreEvent, StepEventMetadata

from core import stack_file
from tests.aws.apigateway import ApiGateway, provider_operations
from tests.aws.clients import AwsError
from tests.aws.sagemaker import FAILED, SageMaker
from tests.lifecycle import Change, Key, changes, deploy_with_exports, with_ignored
from tests.pulumi_mocks import Registered

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
STAGE = "aws:apigateway/stage:Stage"
URN = "urn:pulumi:{stack}::ratings::{type}::{name}"
# Pulumi's steps for each kind of change; a replacement of an auto-named resource is three
OPS = {Change.NONE: (OpType.SAME,), Change.UPDATE: (OpType.UPDATE,), Change.CREATE: (OpType.CREATE,),
       Change.DELETE: (OpType.DELETE,),
       Change.REPLACE: (OpType.CREATE_REPLACEMENT, OpType.REPLACE, OpType.DELETE_REPLACED)}


class UpFailed(RuntimeError):
    """What `pulumi up` ends with when a resource operation fails (the Automation API raises)."""


@dataclass
class ModelledStack:
    project_dir: Path
    stack: str
    sagemaker: SageMaker
    apigateway: ApiGateway = field(default_factory=ApiGateway)
    state: dict[Key, Registered] = field(default_factory=dict)  # Pulumi's checkpoint
    exports: dict[str, Any] = field(default_factory=dict)  # the stack's outputs after the last `up`
    ups: int = 0

    # --- what `canary` calls ------------------------------------------------------------------

    def preview(self, on_event: Any = None) -> None:
        _, planned = self._plan()
        for key, change in sorted(planned.items()):
            for op in OPS[change]:
                on_event(_event(self.stack, op, key))

    def up(self, on_output: Any = None) -> Any:
        self.ups += 1
        desired, planned = self._plan()
        resources, exports = desired
        try:
            self._apply(resources, planned)
        except AwsError as error:
            raise UpFailed(f"update failed: {error}") from None
        self.exports = exports
        return type("UpResult", (), {"outputs": self.outputs()})()

    def outputs(self) -> dict[str, OutputValue]:
        return {key: OutputValue(value, False) for key, value in self.exports.items()}

    # --- the engine ---------------------------------------------------------------------------

    def _plan(self) -> tuple[tuple[dict[Key, Registered], dict[str, Any]], dict[Key, Change]]:
        values = stack_file.read(self.project_dir / f"Pulumi.{self.stack}.yaml").values
        resources, exports = deploy_with_exports(values)
        # each resource as the update sees it: an ignored input takes the state's value
        resources = {key: with_ignored(self.state.get(key), resource) for key, resource in resources.items()}
        return (resources, exports), changes(self.state, resources)

    def _apply(self, desired: dict[Key, Registered], planned: dict[Key, Change]) -> None:
        """Creations (and the new halves of replacements) first, then the endpoint's update, then
        deletions of what was removed and the old halves of replacements. Each operation is
        recorded in the state as soon as it succeeds (Pulumi checkpoints every step), so a failure
        leaves the state as far as the `up` got."""
        old = dict(self.state)
        created = _ordered(planned, (Change.CREATE, Change.REPLACE), (MODEL, CONFIG, ENDPOINT))
        for key in created:
            self._create(desired[key])
            self.state[key] = desired[key]
        for key in _ordered(planned, (Change.UPDATE,), (ENDPOINT,)):
            self.state[key] = self._update(desired[key])
        for key, change in planned.items():
            if key[0] == STAGE and change in (Change.CREATE, Change.UPDATE):
                self._stage(old.get(key), desired[key])
            if change is Change.DELETE:
                self.state.pop(key, None)
            elif key not in created and key[0] not in (MODEL, CONFIG, ENDPOINT):
                self.state[key] = desired[key]
        for key in _ordered(planned, (Change.DELETE, Change.REPLACE), (CONFIG, MODEL)):
            self._delete(old[key])

    def _create(self, resource: Registered) -> None:
        name, inputs = resource.outputs.get("name", ""), resource.inputs
        if resource.type == MODEL:
            self.sagemaker.create_model(name, inputs.get("primaryContainer", {}))
        elif resource.type == CONFIG:
            self.sagemaker.create_endpoint_config(name, [_variant(v) for v in inputs["productionVariants"]])
        elif resource.type == ENDPOINT:
            self.sagemaker.create_endpoint(inputs["name"], inputs["endpointConfigName"])
            endpoint = self.sagemaker.settle(inputs["name"])
            if endpoint.status == FAILED:
                raise AwsError("ResourceNotReady", f"waiting for SageMaker Endpoint ({endpoint.name}) to be in "
                                                   f"service: failed ({endpoint.failure_reason})")

    def _update(self, resource: Registered) -> Registered:
        """resourceEndpointUpdate: UpdateEndpoint, wait, then read the endpoint back."""
        name, config = resource.inputs["name"], resource.inputs["endpointConfigName"]
        self.sagemaker.update_endpoint(name, config)
        running = self.sagemaker.settle(name).config
        return Registered(resource.type, resource.name, {**resource.inputs, "endpointConfigName": running},
                          {**resource.outputs, "endpointConfigName": running})

    def _stage(self, old: Registered | None, new: Registered) -> None:
        """resourceStageCreate (CreateStage, then UpdateStage for the access log) or resourceStageUpdate."""
        inputs = new.inputs
        api, name = inputs["restApi"], inputs["stageName"]
        if old is None:
            self.apigateway.create_stage(api, name, inputs["deployment"], inputs.get("variables") or {},
                                         inputs.get("canarySettings"))
            before = {**inputs, "accessLogSettings": None}
        else:
            before = old.inputs
        operations = provider_operations(before, inputs)
        if operations:
            self.apigateway.update_stage(api, name, operations)

    def _delete(self, resource: Registered) -> None:
        if resource.type == MODEL:
            self.sagemaker.delete_model(resource.outputs["name"])
        elif resource.type == CONFIG:
            self.sagemaker.delete_endpoint_config(resource.outputs["name"])


def _ordered(planned: dict[Key, Change], kinds: tuple[Change, ...], types: tuple[str, ...]) -> list[Key]:
    return sorted((key for key, change in planned.items() if change in kinds and key[0] in types),
                  key=lambda key: types.index(key[0]))


def _variant(variant: dict[str, Any]) -> dict[str, Any]:
    """A production variant as CreateEndpointConfig takes it, from the program's inputs."""
    return {"VariantName": variant["variantName"], "ModelName": variant["modelName"],
            "InitialInstanceCount": int(variant.get("initialInstanceCount", 1)),
            "InstanceType": variant.get("instanceType", "ml.m5.large"),
            "InitialVariantWeight": float(variant.get("initialVariantWeight", 1.0))}


def _event(stack: str, op: OpType, key: Key) -> EngineEvent:
    token, name = key
    metadata = StepEventMetadata(op=op, urn=URN.format(stack=stack, type=token, name=name), type=token,
                                 provider="aws")
    return EngineEvent(sequence=1, timestamp=0, resource_pre_event=ResourcePreEvent(metadata))
