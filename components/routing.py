"""Pure routing decisions: which variant gets what, as data for the components to apply.

Kept apart from resources so every rule is tested with plain tables. Two invariants shape it:
API Gateway always names the target variant (stage variable ``variant``), so endpoint weights
only matter for direct callers; and a promotion must be a stage update only, so nothing here
that feeds the endpoint configuration depends on ``routing``.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import CanaryMode, StackConfig

TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"
INVOKED_VARIANT_HEADER = "X-Amzn-Invoked-Production-Variant"
VARIANT_STAGE_VARIABLE = "variant"
MAX_ITEMS_STAGE_VARIABLE = "maxItems"
CANDIDATE_STAGE_VARIABLE = "candidate"
CANDIDATE_PERCENT_STAGE_VARIABLE = "candidatePercent"

REQUEST_TEMPLATE = "request.vtl"
RESPONSE_TEMPLATE = "response.vtl"
ERROR_TEMPLATE = "error.vtl"


@dataclass(frozen=True)
class CanaryPlan:
    """API Gateway ``canarySettings`` of the stage (request mode only)."""

    percent_traffic: float
    stage_variable_overrides: dict[str, str]


def variant_weights(config: StackConfig) -> dict[str, float]:
    """Initial weight per variant: 1 for the endpoint's default variant, 0 for the rest.

    A weight-0 variant takes traffic only when a request targets it, which is how the API
    reaches every version.
    """
    return {m.name: 1.0 if m.name == config.endpoint.default_variant else 0.0 for m in config.models}


def serving_versions(config: StackConfig) -> tuple[str, ...]:
    """Versions that receive API traffic: the live one, then the canary if any."""
    canary = config.routing.canary
    return (config.routing.live,) + ((canary.version,) if canary else ())


def autoscaled_variants(config: StackConfig) -> tuple[str, ...]:
    """Variants with an autoscaling target: only those serving traffic.

    SageMaker refuses to remove a variant that is registered with autoscaling, so idle
    (rollback-only) variants stay unregistered and can be retired with a plain update.
    """
    return serving_versions(config) if config.endpoint.autoscaling else ()


def _percent_text(percent: float) -> str:
    return f"{percent:g}"


def stage_variables(config: StackConfig) -> dict[str, str]:
    """Stage variables read by the integration and the request template."""
    variables = {
        VARIANT_STAGE_VARIABLE: config.routing.live,
        MAX_ITEMS_STAGE_VARIABLE: str(config.api.max_items),
    }
    canary = config.routing.canary
    if canary and canary.mode is CanaryMode.STICKY:
        variables[CANDIDATE_STAGE_VARIABLE] = canary.version
        variables[CANDIDATE_PERCENT_STAGE_VARIABLE] = _percent_text(canary.percent)
    return variables


def canary_plan(config: StackConfig) -> CanaryPlan | None:
    """The stage's canary settings, present only for a request-mode canary.

    Sticky mode splits inside the request template by user bucket, so an API Gateway canary
    on top would split a second time.
    """
    canary = config.routing.canary
    if canary is None or canary.mode is not CanaryMode.REQUEST:
        return None
    return CanaryPlan(canary.percent, {VARIANT_STAGE_VARIABLE: canary.version})
