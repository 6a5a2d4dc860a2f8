"""API Gateway's REST API stages as the service keeps them, and the provider's way of changing them.

Behaviours, each from its source:

- A stage is its deployment, its stage variables and at most one canary (``canarySettings``:
  deploymentId, percentTraffic, stageVariableOverrides, useStageCache). GetStage answers it;
  CreateStage takes it whole; UpdateStage changes it with JSON-Patch-like operations (API
  Gateway API reference, "UpdateStage" and "PatchOperation": ``op`` replace/remove, ``path``
  such as ``/variables/{name}``, ``/canarySettings/percentTraffic``,
  ``/canarySettings/stageVariableOverrides/{name}``; ``remove /canarySettings`` deletes the
  canary). An unknown stage is NotFoundException; a percentTraffic outside [0, 100] is
  BadRequestException (Developer Guide, "Set up an API Gateway canary release deployment":
  the canary's share is a percentage from 0.0 to 100.0).
- A canary created by a patch with no deploymentId points at the stage's current deployment
  (observed AWS behaviour: go-to-k/cdk-real-drift issue 633, "the canary starts pointed at the
  stage's current deployment").
- Control-plane calls are throttled per account (Developer Guide, "Amazon API Gateway quotas",
  table "API Gateway quotas for creating, deploying and managing an API": operations not listed
  share 10 requests per second, burst 40); a throttled call is TooManyRequestsException, HTTP 429
  (API reference, "Common Errors" of each operation).
- The provider (hashicorp/terraform-provider-aws, internal/service/apigateway/stage.go):
  resourceStageCreate calls CreateStage with the canary settings, then resourceStageUpdate for the
  access-log settings; resourceStageUpdate sends ONE UpdateStage whose operations come from
  ``diffVariablesOps`` (remove what went away, replace what is new or changed) for the variables
  and the canary's overrides, ``appendCanarySettingsPatchOperations`` (``remove /canarySettings``
  when the canary goes away; a replace of percentTraffic and useStageCache when they change) and
  a replace of ``/canarySettings/deploymentId`` when the canary's deployment changes (the
  attribute ``canary_settings.deployment_id``, hashicorp/terraform-provider-aws pull request
  39929); every create and update ends in resourceStageRead, so the state holds GetStage's answer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tests.aws.clients import AwsError, Handler

Stage = dict[str, Any]
Operation = dict[str, str]
CANARY = "/canarySettings"


@dataclass
class Faults:
    throttled_calls: int = 0  # the next control-plane calls answered TooManyRequestsException


@dataclass
class ApiGateway:
    stages: dict[tuple[str, str], Stage] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    updates: list[list[Operation]] = field(default_factory=list)  # each UpdateStage's operations
    faults: Faults = field(default_factory=Faults)
    flushes: int = 0  # FlushStageCache calls that emptied a stage's cache

    # --- the service --------------------------------------------------------------------------

    def create_stage(self, rest_api_id: str, stage_name: str, deployment_id: str,
                     variables: dict[str, str], canary: dict[str, Any] | None) -> Stage:
        self._call("CreateStage")
        if (rest_api_id, stage_name) in self.stages:
            raise AwsError("ConflictException", "Stage already exists", 409)
        stage: Stage = {"stageName": stage_name, "deploymentId": deployment_id, "variables": dict(variables)}
        if canary:
            stage["canarySettings"] = {"deploymentId": deployment_id, **copy.deepcopy(canary)}
        self.stages[(rest_api_id, stage_name)] = stage
        return copy.deepcopy(stage)

    def update_stage(self, rest_api_id: str, stage_name: str, operations: list[Operation]) -> Stage:
        self._call("UpdateStage")
        self.updates.append(copy.deepcopy(operations))
        stage = copy.deepcopy(self._find(rest_api_id, stage_name))
        for operation in operations:
            _patch(stage, operation)
        self.stages[(rest_api_id, stage_name)] = stage  # all operations or none
        return copy.deepcopy(stage)

    def flush_stage_cache(self, rest_api_id: str, stage_name: str) -> dict[str, Any]:
        """FlushStageCache (API reference: DELETE /restapis/{id}/stages/{stage}/cache/data; a stage
        that does not exist is NotFoundException)."""
        self._call("FlushStageCache")
        self._find(rest_api_id, stage_name)
        self.flushes += 1
        return {}

    def get_stage(self, rest_api_id: str, stage_name: str) -> Stage:
        self._call("GetStage")
        return copy.deepcopy(self._find(rest_api_id, stage_name))

    def handlers(self) -> dict[str, Handler]:
        """boto3 operations, for tests/aws/clients.py."""
        return {
            "GetStage": lambda p: self.get_stage(p["restApiId"], p["stageName"]),
            "UpdateStage": lambda p: self.update_stage(p["restApiId"], p["stageName"],
                                                       list(p.get("patchOperations", []))),
            "FlushStageCache": lambda p: self.flush_stage_cache(p["restApiId"], p["stageName"]),
        }

    def _call(self, operation: str) -> None:
        if self.faults.throttled_calls > 0:
            self.faults.throttled_calls -= 1
            self.calls.append(f"{operation} (throttled)")
            raise AwsError("TooManyRequestsException", "Too Many Requests", 429)
        self.calls.append(operation)

    def _find(self, rest_api_id: str, stage_name: str) -> Stage:
        stage = self.stages.get((rest_api_id, stage_name))
        if stage is None:
            raise AwsError("NotFoundException", "Invalid stage identifier specified", 404)
        return stage


def _patch(stage: Stage, operation: Operation) -> None:
    op, path, value = operation["op"], operation["path"], operation.get("value")
    if path == CANARY and op == "remove":
        stage.pop("canarySettings", None)
        return
    parts = path.strip("/").split("/")
    if parts[0] == "variables" and len(parts) == 2:
        _set(stage.setdefault("variables", {}), parts[1], op, value)
    elif parts[0] == "canarySettings" and len(parts) >= 2:
        canary = stage.setdefault("canarySettings", {"deploymentId": stage["deploymentId"]})
        _patch_canary(canary, parts[1:], op, value)
    elif parts == ["deploymentId"] and op == "replace" and value:
        stage["deploymentId"] = value
    elif parts[0] == "accessLogSettings":
        _set(stage.setdefault("accessLogSettings", {}), parts[-1], op, value)
    else:
        raise AwsError("BadRequestException", f"Invalid patch path '{path}' specified for op '{op}'")


def _patch_canary(canary: dict[str, Any], parts: list[str], op: str, value: str | None) -> None:
    if parts[0] == "stageVariableOverrides" and len(parts) == 2:
        _set(canary.setdefault("stageVariableOverrides", {}), parts[1], op, value)
    elif parts == ["percentTraffic"] and op == "replace":
        share = _number(value)
        if not 0.0 <= share <= 100.0:
            raise AwsError("BadRequestException", "percentTraffic must be between 0.0 and 100.0")
        canary["percentTraffic"] = share
    elif parts == ["useStageCache"] and op == "replace":
        canary["useStageCache"] = value == "true"
    elif parts == ["deploymentId"] and op == "replace" and value:
        canary["deploymentId"] = value
    else:
        raise AwsError("BadRequestException", f"Invalid patch path '/canarySettings/{'/'.join(parts)}'")


def _set(mapping: dict[str, Any], key: str, op: str, value: str | None) -> None:
    if op == "remove":
        mapping.pop(key, None)
    elif op == "replace" and value is not None:
        mapping[key] = value
    else:
        raise AwsError("BadRequestException", f"Invalid patch operation '{op}' for '{key}'")


def _number(value: str | None) -> float:
    try:
        return float(value or "")
    except ValueError:
        raise AwsError("BadRequestException", f"Invalid percentTraffic '{value}'") from None


# --- the provider's side (stage.go) ------------------------------------------------------------

def provider_operations(old: Stage, new: Stage) -> list[Operation]:
    """The UpdateStage operations resourceStageUpdate sends to go from ``old`` to ``new`` inputs."""
    operations: list[Operation] = []
    old_canary, new_canary = old.get("canarySettings"), new.get("canarySettings")
    if old_canary != new_canary:
        operations += _canary_operations(old_canary, new_canary)
    if old.get("deployment") != new.get("deployment"):
        operations.append({"op": "replace", "path": "/deploymentId", "value": new["deployment"]})
    operations += _variable_operations(old.get("variables") or {}, new.get("variables") or {}, "/variables/")
    if old.get("accessLogSettings") != new.get("accessLogSettings") and new.get("accessLogSettings"):
        settings = new["accessLogSettings"]
        operations += [{"op": "replace", "path": "/accessLogSettings/destinationArn",
                        "value": settings["destinationArn"]},
                       {"op": "replace", "path": "/accessLogSettings/format", "value": settings["format"]}]
    return operations


def _canary_operations(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Operation]:
    if not new:
        return [{"op": "remove", "path": CANARY}]
    old = old or {"percentTraffic": 0.0, "stageVariableOverrides": {}, "useStageCache": False}
    operations = _variable_operations(old.get("stageVariableOverrides") or {},
                                      new.get("stageVariableOverrides") or {}, f"{CANARY}/stageVariableOverrides/")
    if float(old.get("percentTraffic", 0.0)) != float(new.get("percentTraffic", 0.0)):
        operations.append({"op": "replace", "path": f"{CANARY}/percentTraffic",
                           "value": f"{float(new.get('percentTraffic', 0.0)):f}"})
    if bool(old.get("useStageCache")) != bool(new.get("useStageCache")):
        operations.append({"op": "replace", "path": f"{CANARY}/useStageCache",
                           "value": str(bool(new.get("useStageCache"))).lower()})
    if new.get("deploymentId") and old.get("deploymentId") != new.get("deploymentId"):
        operations.append({"op": "replace", "path": f"{CANARY}/deploymentId", "value": new["deploymentId"]})
    return operations


def _variable_operations(old: dict[str, str], new: dict[str, str], prefix: str) -> list[Operation]:
    """diffVariablesOps: remove what went away, replace what is new or changed."""
    removed = [{"op": "remove", "path": prefix + key} for key in old if key not in new]
    changed = [{"op": "replace", "path": prefix + key, "value": value}
               for key, value in new.items() if old.get(key) != value]
    return removed + changed
