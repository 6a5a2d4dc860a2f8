"""A rollout step on a cloud stack: preview, gate, confirm, apply, verify.

Pulumi's preview lists what `pulumi up` would do to each resource; a step that would replace or
delete the endpoint, the API or its stage is refused unless the user accepts the outage. After
`up`, DescribeEndpoint must show the endpoint in service on the configuration Pulumi created:
the provider waits only for InService, which is also where SageMaker lands after rolling a
failed update back, so `up` reports success either way.

The decisions are pure functions; Pulumi's Automation API and SageMaker sit behind two small
protocols (``Automation``, ``EndpointProbe``) so tests drive them with fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
DEPLOYMENT, STAGE = "aws:apigateway/deployment:Deployment", "aws:apigateway/stage:Stage"
PROTECTED_TYPES = {ENDPOINT: "endpoint", "aws:apigateway/restApi:RestApi": "API", STAGE: "stage"}
DESTRUCTIVE_OPS = {"replace", "create-replacement", "delete-replaced", "delete"}
NEW_DEPLOYMENT_OPS = {"create", "replace", "create-replacement"}
OP_MARKS = {"create": "+", "update": "~", "delete": "-", "replace": "+-", "create-replacement": "++",
            "delete-replaced": "--"}
IN_SERVICE = "InService"
CONFIG_OUTPUT = "endpoint_config_name"

MSG_REFUSED = ("refused: the preview would {what}; nothing was applied. Pass --allow-replace to accept "
               "the outage")
MSG_DEPLOYMENT_UNDER_CANARY = ("refused: the preview makes a new deployment of the API (its document changed) while "
                               "the stage keeps a canary, and API Gateway does not move a stage with a canary to "
                               "another deployment; nothing was applied. Promote or roll back first, then "
                               "`pulumi up` the API change")
MSG_NOT_A_TERMINAL = "refused: not a terminal to confirm on; pass --yes to apply without confirmation"
MSG_DECLINED = "not applied"
MSG_ROLLED_BACK = ("SageMaker rolled the update back: endpoint {endpoint} runs {running}, not {expected} "
                   "({reason}); run `pulumi refresh` before the next step")
MSG_NOT_IN_SERVICE = "endpoint {endpoint} is {status} after the update ({reason}); run `pulumi refresh`"
MSG_UPDATE_FAILED = ("SageMaker reports the update of endpoint {endpoint} failed ({reason}); run `pulumi refresh` "
                     "and check the endpoint before the next step")
MSG_MISSING = "endpoint {endpoint} does not exist after the update; run `pulumi refresh`"
MSG_PREVIEW_FAILED = "`pulumi preview` failed: {error}"
MSG_UP_FAILED = "`pulumi up` failed: {error}"
MSG_UNVERIFIED = ("applied, but DescribeEndpoint failed ({error}); check endpoint {endpoint} before the next "
                  "step (the stack file keeps the change, as Pulumi's state does)")
MSG_RESTORE_CAPACITY = ("the endpoint update reset instance counts set by autoscaling; to restore them now: "
                        "aws sagemaker update-endpoint-weights-and-capacities --endpoint-name {endpoint} "
                        "--desired-weights-and-capacities {pairs}")


class StepStopped(Exception):
    """The step did not stand; the message says why. ``restore``: the caller puts the stack file
    back (everything but a change that was applied and could not be checked)."""

    def __init__(self, message: str, restore: bool = True):
        super().__init__(message)
        self.restore = restore


@dataclass(frozen=True)
class PlannedStep:
    op: str
    type: str
    name: str

    def line(self) -> str:
        return f"{OP_MARKS.get(self.op, '?'):>2} {self.op:<18} {self.type}  {self.name}"


@dataclass(frozen=True)
class EndpointState:
    config_name: str
    status: str
    failure_reason: str = ""
    capacities: dict[str, int] = field(default_factory=dict)  # desired instance count per variant


@dataclass(frozen=True)
class CloudOptions:
    """What the person running a step allowed: apply without asking, accept an outage, and whether
    anyone is there to ask (a terminal)."""

    yes: bool = False
    allow_replace: bool = False
    interactive: bool = False


class Console(Protocol):
    """Where a step talks to the person running it (standard error under ``--json``)."""

    def say(self, line: str) -> None: ...

    def confirm(self, question: str) -> bool: ...


class Automation(Protocol):
    def preview(self) -> list[PlannedStep]: ...

    def up(self) -> dict[str, Any]: ...  # the stack outputs


class EndpointProbe(Protocol):
    def describe(self, endpoint_name: str) -> EndpointState | None: ...


def plan_lines(steps: list[PlannedStep]) -> list[str]:
    """The resource-level plan, without the resources that stay the same."""
    changed = [step.line() for step in steps if step.op != "same"]
    return changed or ["no resource changes"]


def destructive(steps: list[PlannedStep]) -> list[PlannedStep]:
    return [s for s in steps if s.type in PROTECTED_TYPES and s.op in DESTRUCTIVE_OPS]


def moves_stage_with_canary(steps: list[PlannedStep], canary_after: bool) -> bool:
    """A new deployment for an existing stage that has a stage canary after the step.

    The developer guide ("Set up an API Gateway canary release deployment") says a stage with a
    canary cannot be associated with another deployment until the canary is removed. A new stage
    (the first `up`) may start with its canary; a step that removes the canary is left to AWS.
    """
    new_stage = any(s.type == STAGE and s.op == "create" for s in steps)
    return canary_after and not new_stage and any(
        s.type == DEPLOYMENT and s.op in NEW_DEPLOYMENT_OPS for s in steps)


def refusal(steps: list[PlannedStep]) -> str:
    what = "; ".join(sorted({f"{s.op} the {PROTECTED_TYPES[s.type]} {s.name}" for s in steps}))
    return MSG_REFUSED.format(what=what)


def verify(endpoint: str, expected_config: str | None, state: EndpointState | None,
           changed: bool = False) -> str | None:
    """Why the endpoint is not running the configuration Pulumi created, or None when it is.

    ``changed``: this step moved the endpoint to another configuration. DescribeEndpoint's
    FailureReason is set when "the status is InService but update operation fails" (SageMaker API
    reference, DescribeEndpoint), so after a change any reason is a failure, even on the new name."""
    if state is None:
        return MSG_MISSING.format(endpoint=endpoint)
    reason = state.failure_reason or "no failure reason given"
    if expected_config and state.config_name != expected_config:
        return MSG_ROLLED_BACK.format(endpoint=endpoint, running=state.config_name, expected=expected_config,
                                      reason=reason)
    if state.status != IN_SERVICE:
        return MSG_NOT_IN_SERVICE.format(endpoint=endpoint, status=state.status, reason=reason)
    if changed and state.failure_reason:
        return MSG_UPDATE_FAILED.format(endpoint=endpoint, reason=state.failure_reason)
    return None


def capacity_restore_command(endpoint: str, before: EndpointState | None, after: EndpointState) -> str | None:
    """UpdateEndpoint without RetainAllVariantProperties (the provider never sends it) resets every
    variant to its configured count; the command that puts back what autoscaling had set."""
    if before is None or before.config_name == after.config_name:
        return None
    lowered = {variant: count for variant, count in before.capacities.items()
               if variant in after.capacities and after.capacities[variant] < count}
    if not lowered:
        return None
    pairs = " ".join(f"VariantName={variant},DesiredInstanceCount={count}"
                     for variant, count in sorted(lowered.items()))
    return MSG_RESTORE_CAPACITY.format(endpoint=endpoint, pairs=pairs)


def run_step(automation: Automation, probe: EndpointProbe, endpoint: str, options: CloudOptions,
             console: Console, canary_after: bool = False) -> None:
    """Preview, gate, confirm, `up`, verify; raise StepStopped when the step must not stand.

    ``canary_after``: the stage has a canary once the step is applied."""
    try:
        steps = automation.preview()
    except Exception as error:  # noqa: BLE001  # any failure of the preview stops the step, in one line
        raise StepStopped(MSG_PREVIEW_FAILED.format(error=error)) from None
    console.say("preview:")
    for line in plan_lines(steps):
        console.say(f"  {line}")
    harmful = destructive(steps)
    if harmful and not options.allow_replace:
        raise StepStopped(refusal(harmful))
    if moves_stage_with_canary(steps, canary_after):
        raise StepStopped(MSG_DEPLOYMENT_UNDER_CANARY)
    if not options.yes:
        if not options.interactive:
            raise StepStopped(MSG_NOT_A_TERMINAL)
        if not console.confirm("apply this change?"):
            raise StepStopped(MSG_DECLINED)
    before = _describe_or_none(probe, endpoint)
    try:
        outputs = automation.up()
    except Exception as error:  # noqa: BLE001  # any failure of `pulumi up` stops the step, in one line
        raise StepStopped(MSG_UP_FAILED.format(error=error)) from None
    try:
        after = probe.describe(endpoint)
    except Exception as error:  # noqa: BLE001  # applied but unchecked: said, and the file kept
        raise StepStopped(MSG_UNVERIFIED.format(error=error, endpoint=endpoint), restore=False) from None
    expected = outputs.get(CONFIG_OUTPUT)
    problem = verify(endpoint, expected, after, changed=before is None or before.config_name != expected)
    if problem:
        raise StepStopped(problem)
    command = capacity_restore_command(endpoint, before, after) if after is not None else None
    if command:
        console.say(command)


def _describe_or_none(probe: EndpointProbe, endpoint: str) -> EndpointState | None:
    """The endpoint before the step, only to compare instance counts; not knowing it is fine."""
    try:
        return probe.describe(endpoint)
    except Exception:  # noqa: BLE001  # only to compare instance counts afterwards
        return None


class AutomationStack:
    """``Automation`` over a ``pulumi.automation.Stack``."""

    def __init__(self, stack: Any, on_output: Callable[[str], None]):
        self._stack = stack
        self._on_output = on_output

    def preview(self) -> list[PlannedStep]:
        steps: list[PlannedStep] = []

        def collect(event) -> None:
            pre = getattr(event, "resource_pre_event", None)
            if pre is not None:
                meta = pre.metadata
                steps.append(PlannedStep(getattr(meta.op, "value", meta.op), meta.type, meta.urn.rsplit("::", 1)[-1]))

        self._stack.preview(on_event=collect)
        return steps

    def up(self) -> dict[str, Any]:
        result = self._stack.up(on_output=self._on_output)
        return {key: output.value for key, output in (result.outputs or {}).items()}


class SageMakerProbe:
    """``EndpointProbe`` with a boto3 SageMaker client."""

    def __init__(self, client):
        self._client = client

    def describe(self, endpoint_name: str) -> EndpointState | None:
        try:
            found = self._client.describe_endpoint(EndpointName=endpoint_name)
        except self._client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ValidationException":
                return None  # SageMaker's answer for an endpoint that does not exist
            raise
        capacities = {v["VariantName"]: v["DesiredInstanceCount"] for v in found.get("ProductionVariants", [])
                      if "DesiredInstanceCount" in v}
        return EndpointState(found["EndpointConfigName"], found["EndpointStatus"], found.get("FailureReason", ""),
                             capacities)


