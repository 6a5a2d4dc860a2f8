"""Routing, in one place: which version is live, which is the candidate and with what share, and
what that means for the endpoint's weights, the stage's variables and canary settings, and the
people looking at it.

Two invariants shape it: API Gateway always names the target variant (stage variable
``variant``), so endpoint weights only matter to direct callers; and a promotion must be a stage
update only, so nothing here that feeds the endpoint configuration depends on the routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.thresholds import AnalysisThresholds, QualityThresholds

TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"
INVOKED_VARIANT_HEADER = "X-Amzn-Invoked-Production-Variant"
VARIANT_STAGE_VARIABLE = "variant"
MAX_ITEMS_STAGE_VARIABLE = "maxItems"
CANDIDATE_STAGE_VARIABLE = "candidate"
CANDIDATE_PERCENT_STAGE_VARIABLE = "candidatePercent"
LOCAL_REST_API_ID = "local"  # the REST API id the local runtime answers GetStage for

PERCENT_FIELD = "routing.canary.percent"
MSG_PERCENT = "{field}: {value:g} is not a share of traffic; use a percent in (0, 100]"


class CanaryMode(StrEnum):
    """``request``: API Gateway's per-request draw; ``sticky``: a user always sees one version."""

    REQUEST = "request"
    STICKY = "sticky"


class Role(StrEnum):
    LIVE = "live"
    CANDIDATE = "candidate"
    PREVIOUS = "previous"  # live before the last promotion: the rollback target
    IDLE = "idle"


@dataclass(frozen=True)
class Canary:
    version: str
    percent: float
    mode: CanaryMode = CanaryMode.REQUEST


@dataclass(frozen=True)
class Routing:
    live: str
    canary: Canary | None = None
    previous: str | None = None  # live before the last promotion: `canary rollback` flips back to it
    analysis: AnalysisThresholds = field(default_factory=AnalysisThresholds)
    quality: QualityThresholds | None = None  # None: no quality gate unless a command asks for one

    def same_traffic(self, other: Routing) -> bool:
        """Whether both send the same versions the same shares (thresholds aside)."""
        return (self.live, self.canary) == (other.live, other.canary)


@dataclass(frozen=True)
class CanarySettings:
    """API Gateway ``canarySettings`` of the stage (request mode only)."""

    percent_traffic: float
    stage_variable_overrides: dict[str, str]


def percent_problem(value: float, field_name: str = PERCENT_FIELD) -> str | None:
    """The one rule for a canary's share of traffic: a percent in (0, 100]."""
    if not 0 < value <= 100:
        return MSG_PERCENT.format(field=field_name, value=value)
    return None


def serving_versions(routing: Routing) -> tuple[str, ...]:
    """Versions that receive API traffic: the live one, then the candidate if any."""
    canary = routing.canary
    return (routing.live,) + ((canary.version,) if canary else ())


def version_order(routing: Routing, versions: Sequence[str]) -> tuple[str, ...]:
    """Live, candidate, then the other versions in config order (how a person reads them)."""
    serving = serving_versions(routing)
    return serving + tuple(name for name in versions if name not in serving)


def variant_weights(versions: Sequence[str], default_variant: str) -> dict[str, float]:
    """Initial weight per variant: 1 for the endpoint's default variant, 0 for the rest.

    A weight-0 variant takes traffic only when a request targets it, which is how the API
    reaches every version.
    """
    return {name: 1.0 if name == default_variant else 0.0 for name in versions}


def autoscaled_variants(routing: Routing, autoscaling: bool) -> tuple[str, ...]:
    """Variants with an autoscaling target: only those serving traffic.

    SageMaker refuses to remove a variant that is registered with autoscaling, so idle
    (rollback-only) variants stay unregistered and can be retired with a plain update.
    """
    return serving_versions(routing) if autoscaling else ()


def stage_variables(routing: Routing, max_items: int) -> dict[str, str]:
    """Stage variables read by the integration and the request template."""
    variables = {VARIANT_STAGE_VARIABLE: routing.live, MAX_ITEMS_STAGE_VARIABLE: str(max_items)}
    canary = routing.canary
    if canary and canary.mode is CanaryMode.STICKY:
        variables[CANDIDATE_STAGE_VARIABLE] = canary.version
        variables[CANDIDATE_PERCENT_STAGE_VARIABLE] = f"{canary.percent:g}"
    return variables


def canary_settings(routing: Routing) -> CanarySettings | None:
    """The stage's canary settings, present only for a request-mode canary.

    Sticky mode splits inside the request template by user bucket, so an API Gateway canary
    on top would split a second time.
    """
    canary = routing.canary
    if canary is None or canary.mode is not CanaryMode.REQUEST:
        return None
    return CanarySettings(canary.percent, {VARIANT_STAGE_VARIABLE: canary.version})


def served_by_stage(variables: Mapping[str, str], settings: CanarySettings | None) -> Routing:
    """The traffic a stage serves, read back from its variables and canary settings: the inverse of
    ``stage_variables`` and ``canary_settings`` (thresholds and ``previous`` are not on a stage)."""
    live = variables.get(VARIANT_STAGE_VARIABLE, "")
    candidate = variables.get(CANDIDATE_STAGE_VARIABLE)
    if candidate and variables.get(CANDIDATE_PERCENT_STAGE_VARIABLE):
        return Routing(live, Canary(candidate, float(variables[CANDIDATE_PERCENT_STAGE_VARIABLE]), CanaryMode.STICKY))
    override = settings.stage_variable_overrides.get(VARIANT_STAGE_VARIABLE) if settings else None
    if settings is not None and override and settings.percent_traffic > 0:
        return Routing(live, Canary(override, settings.percent_traffic, CanaryMode.REQUEST))
    return Routing(live)


def served_by_get_stage(document: Mapping[str, Any]) -> Routing:
    """The traffic an API Gateway GetStage answer describes (``variables``, ``canarySettings``)."""
    settings = document.get("canarySettings")
    canary = None if not settings else CanarySettings(
        float(settings.get("percentTraffic", 0.0)), dict(settings.get("stageVariableOverrides") or {}))
    return served_by_stage(document.get("variables") or {}, canary)


def role_of(routing: Routing, version: str) -> Role:
    if version == routing.live:
        return Role.LIVE
    if routing.canary is not None and version == routing.canary.version:
        return Role.CANDIDATE
    return Role.PREVIOUS if version == routing.previous else Role.IDLE


def share_of(routing: Routing, version: str) -> float:
    """The configured percent of API traffic ``version`` gets."""
    percent = routing.canary.percent if routing.canary else 0.0
    return {Role.LIVE: 100.0 - percent, Role.CANDIDATE: percent}.get(role_of(routing, version), 0.0)


def describe(routing: Routing) -> str:
    """``live v1, canary v2 at 10 %`` for messages."""
    canary = routing.canary
    return f"live {routing.live}, " + (f"canary {canary.version} at {canary.percent:g} %" if canary else "no canary")


def to_json(routing: Routing) -> dict[str, Any]:
    canary = routing.canary
    return {"live": routing.live, "previous": routing.previous,
            "canary": None if canary is None else {"version": canary.version, "percent": canary.percent,
                                                   "mode": canary.mode.value}}
