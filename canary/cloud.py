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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
DEPLOYMENT, STAGE = "aws:apigateway/deployment:Deployment", "aws:apigateway/stage:Stage"
PROTECTED_TYPES = {ENDPOINT: "endpoint", "aws:apigateway/restApi:RestApi": "API", STAGE: "stage"}
DESTRUCTIVE_OPS = {"replace", "create-replacement", "delete-replaced", "delete"}
NEW_DEPLOYMENT_OPS = {"create", "replace", "create-replacement"}
ENDPOINT_CHANGE_OPS = {"update", "replace", "create-replacement"}
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
MSG_ROLLED_BACK = ("SageMaker rolled the update back: endpoint {endpoint} runs {running} ({variants}), not "
                   "{expected} ({reason}); the log group /aws/sagemaker/Endpoints/{endpoint} says why a new variant "
                   "failed")
MSG_ROUTING_KEPT = "; the routing change was applied before the endpoint's update ended, so {file} keeps it"
MSG_ORPHAN = ("refused: endpoint {endpoint} already exists in SageMaker ({status}{reason}) but Pulumi's state does not "
              "have it, so `pulumi up` would fail to create it; {fix}; nothing was applied")
FIX_FAILED = ("a first create failed and left it: delete it (aws sagemaker delete-endpoint --endpoint-name "
              "{endpoint}), then run the step again")
FIX_FOREIGN = ("import it (pulumi import aws:sagemaker/endpoint:Endpoint {name} {endpoint}) or give endpoint.name "
               "another name")
MSG_NOT_IN_SERVICE = "endpoint {endpoint} is {status} after the update ({reason}); run `pulumi refresh`"
MSG_NOT_SERVED = ("endpoint {endpoint} runs no variant {missing} (it runs {variants}); the routing that sends "
                  "traffic there was not applied")
MSG_TRYING_AGAIN = ("note: the last update of endpoint {endpoint} failed ({reason}); this step tries the endpoint's "
                    "update again")
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
    variants: tuple[str, ...] = ()  # the production variants it runs


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


def summary(error: Exception) -> str:
    """One line for a failure: the Automation API's CommandError carries the CLI's whole output,
    whose ``error:`` line says what went wrong."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = [line.split("error:", 1)[1].strip() for line in lines if "error:" in line]
    return (said or lines or [type(error).__name__])[0]


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
           changed: bool = False, serving: Sequence[str] = ()) -> str | None:
    """Why the endpoint is not running the configuration Pulumi created, or None when it is.

    ``changed``: this step moved the endpoint to another configuration. DescribeEndpoint's
    FailureReason is set when "the status is InService but update operation fails" (SageMaker API
    reference, DescribeEndpoint), so after a change any reason is a failure, even on the new name."""
    if state is None:
        return MSG_MISSING.format(endpoint=endpoint)
    reason = state.failure_reason or "no failure reason given"
    if expected_config and state.config_name != expected_config:
        return MSG_ROLLED_BACK.format(endpoint=endpoint, running=state.config_name, expected=expected_config,
                                      reason=reason, variants=", ".join(state.variants) or "no variant")
    if state.status != IN_SERVICE:
        return MSG_NOT_IN_SERVICE.format(endpoint=endpoint, status=state.status, reason=reason)
    if changed and state.failure_reason:
        return MSG_UPDATE_FAILED.format(endpoint=endpoint, reason=state.failure_reason)
    missing = [version for version in serving if version not in state.variants]
    if missing:
        return MSG_NOT_SERVED.format(endpoint=endpoint, missing=", ".join(missing), variants=", ".join(state.variants))
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


@dataclass(frozen=True)
class Phase:
    """One `pulumi up` of a step: the stack file it applies, and the versions its routing sends
    API traffic to (each must be a variant of the endpoint once it is applied)."""

    text: str
    serving: tuple[str, ...]


@dataclass(frozen=True)
class CloudStep:
    """What one `canary` step asks of a cloud stack.

    ``phases``: the stack as written before the step, then the step's own file, when the step
    sends traffic to a version that had none; else the step's file alone. ``canary_after``: the
    stage has a canary once the step is applied; ``moves_traffic``: the step changes the shares."""

    endpoint: str
    phases: tuple[Phase, ...]
    file_name: str
    canary_after: bool = False
    moves_traffic: bool = False


def run_step(automation: Automation, probe: EndpointProbe, step: CloudStep, options: CloudOptions,
             console: Console, write: Callable[[str], None]) -> None:
    """Preview, gate, confirm, then `up` and verify each phase; raise StepStopped when the step
    must not stand.

    The preview is of the step's own file. When it changes the endpoint, the first phase applies
    that change alone and the endpoint is verified before any traffic moves, so a version
    SageMaker rolled back never receives API traffic."""
    write(step.phases[-1].text)  # the preview reads the stack file
    steps = show_preview(automation, console)
    _gate(steps, options, console, step.canary_after)
    before = _describe_or_none(probe, step.endpoint)
    _refuse_unknown_endpoint(steps, step.endpoint, before)
    endpoint_changes = changes_endpoint(steps)
    if endpoint_changes and before is not None and before.failure_reason:
        console.say(MSG_TRYING_AGAIN.format(endpoint=step.endpoint, reason=before.failure_reason))
    phases = step.phases if endpoint_changes else step.phases[-1:]
    for phase in phases:
        write(phase.text)
        routing_rides_along = endpoint_changes and step.moves_traffic and len(phases) == 1
        after = _applied(automation, probe, step, phase, before, routing_rides_along)
        command = capacity_restore_command(step.endpoint, before, after)
        if command:
            console.say(command)
        before = after


def changes_endpoint(steps: list[PlannedStep]) -> bool:
    """Whether the step updates the endpoint (a new configuration: SageMaker's blue/green swap)."""
    return any(s.type == ENDPOINT and s.op in ENDPOINT_CHANGE_OPS for s in steps)


def show_preview(automation: Automation, console: Console) -> list[PlannedStep]:
    """The resource plan of the stack file as it is now, said line by line."""
    try:
        steps = automation.preview()
    except Exception as error:  # noqa: BLE001  # any failure of the preview stops the step, in one line
        raise StepStopped(MSG_PREVIEW_FAILED.format(error=summary(error))) from None
    console.say("preview:")
    for line in plan_lines(steps):
        console.say(f"  {line}")
    return steps


def _gate(steps: list[PlannedStep], options: CloudOptions, console: Console, canary_after: bool) -> None:
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


def _refuse_unknown_endpoint(steps: list[PlannedStep], endpoint: str, existing: EndpointState | None) -> None:
    """A preview that creates the endpoint while SageMaker already has one of that name: the
    provider records an endpoint only once it is InService (terraform-provider-aws >= 6.29.0,
    internal/service/sagemaker/endpoint.go resourceEndpointCreate: d.SetId after the wait), so a
    first create that failed leaves a Failed endpoint Pulumi does not know, and CreateEndpoint then
    answers "Cannot create already existing endpoint"."""
    if existing is None or not any(s.type == ENDPOINT and s.op == "create" for s in steps):
        return
    name = next(s.name for s in steps if s.type == ENDPOINT)
    fix = (FIX_FAILED if existing.status == "Failed" else FIX_FOREIGN).format(endpoint=endpoint, name=name)
    reason = f": {existing.failure_reason}" if existing.failure_reason else ""
    raise StepStopped(MSG_ORPHAN.format(endpoint=endpoint, status=existing.status, reason=reason, fix=fix))


def _applied(automation: Automation, probe: EndpointProbe, step: CloudStep, phase: Phase,
             before: EndpointState | None, routing_rides_along: bool) -> EndpointState:
    """`up`, then DescribeEndpoint against what the update created and what the routing serves.

    ``routing_rides_along``: this `up` also moves traffic (away from a version), and the stage is
    updated once the endpoint's update has ended, rolled back or not; the file then keeps the
    applied routing rather than being put back."""
    try:
        outputs = automation.up()
    except Exception as error:  # noqa: BLE001  # any failure of `pulumi up` stops the step, in one line
        raise StepStopped(MSG_UP_FAILED.format(error=summary(error))) from None
    try:
        after = probe.describe(step.endpoint)
    except Exception as error:  # noqa: BLE001  # applied but unchecked: said, and the file kept
        raise StepStopped(MSG_UNVERIFIED.format(error=error, endpoint=step.endpoint), restore=False) from None
    expected = outputs.get(CONFIG_OUTPUT)
    problem = verify(step.endpoint, expected, after, changed=before is None or before.config_name != expected,
                     serving=phase.serving)
    if problem and routing_rides_along:
        raise StepStopped(problem + MSG_ROUTING_KEPT.format(file=step.file_name), restore=False)
    if problem or after is None:
        raise StepStopped(problem or MSG_MISSING.format(endpoint=step.endpoint))
    return after


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
        variants = found.get("ProductionVariants", [])
        capacities = {v["VariantName"]: v["DesiredInstanceCount"] for v in variants if "DesiredInstanceCount" in v}
        return EndpointState(found["EndpointConfigName"], found["EndpointStatus"], found.get("FailureReason", ""),
                             capacities, tuple(v["VariantName"] for v in variants))


