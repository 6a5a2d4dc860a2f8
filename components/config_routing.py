"""The ``routing`` section of the stack config, both ways: parsed into typed values, and written
back so that a rollout plan transforms ``Routing -> Routing`` and never edits raw keys.

The percent rule lives here once: the config validation, the rollout plans and the command line
all ask ``percent_problem``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from components.config_fields import REQUIRED, Section

ROUTING_KEY = "ratings:routing"
PERCENT_FIELD = "routing.canary.percent"

MSG_PERCENT = "{field}: {value:g} is not a share of traffic; use a percent in (0, 100]"


class CanaryMode(str, Enum):
    """``request``: API Gateway's per-request draw; ``sticky``: a user always sees one version."""

    REQUEST = "request"
    STICKY = "sticky"


@dataclass(frozen=True)
class Canary:
    version: str
    percent: float
    mode: CanaryMode = CanaryMode.REQUEST


@dataclass(frozen=True)
class AnalysisThresholds:
    """When a candidate passes, fails or is inconclusive against live (``routing.analysis``).

    Command-line flags override each value for one command."""

    min_requests: int = 100  # fewer candidate requests than this: inconclusive
    max_5xx_rate: float = 0.01
    max_latency_ratio: float = 1.5  # candidate p99 may be this many times live's ...
    # ... unless it stays under this: below ~20 ms, p99 differences between two model servers on
    # one host are scheduling noise (measured 5 vs 8 ms for identical models under load)
    latency_floor_ms: float = 20.0


# stack-file key -> field of AnalysisThresholds, with the bounds each value must respect
ANALYSIS_KEYS = {
    "minRequests": ("min_requests", int, 1, 1_000_000_000),
    "max5xxRate": ("max_5xx_rate", float, 0.0, 1.0),
    "maxLatencyRatio": ("max_latency_ratio", float, 1.0, 1000.0),
    "latencyFloorMs": ("latency_floor_ms", float, 0.0, 600_000.0),
}


@dataclass(frozen=True)
class QualityThresholds:
    """When a candidate's predictions pass, fail or are inconclusive against live's
    (``routing.analysis.quality``; present, it makes promotions and runs compare predictions)."""

    max_rmse_increase: float = 0.02  # stars of RMSE the candidate may lose against live
    max_p95_difference: float = 0.75  # stars: 95 % of answers may move by at most this much
    min_rank_agreement: float = 0.5  # median Kendall's tau per user, live vs candidate
    min_pairs: int = 500  # fewer (rated) pairs than this: inconclusive


QUALITY_KEYS = {
    "maxRmseIncrease": ("max_rmse_increase", float, 0.0, 4.0),
    "maxP95Difference": ("max_p95_difference", float, 0.0, 4.0),
    "minRankAgreement": ("min_rank_agreement", float, -1.0, 1.0),
    "minPairs": ("min_pairs", int, 1, 1_000_000_000),
}


@dataclass(frozen=True)
class Routing:
    live: str
    canary: Canary | None = None
    previous: str | None = None  # live before the last promotion: `canary rollback` flips back to it
    analysis: AnalysisThresholds = field(default_factory=AnalysisThresholds)
    quality: QualityThresholds | None = None  # None: no quality gate unless a command asks for one


def percent_problem(value: float, field_name: str = PERCENT_FIELD) -> str | None:
    """The one rule for a canary's share of traffic: a percent in (0, 100]."""
    if not 0 < value <= 100:
        return MSG_PERCENT.format(field=field_name, value=value)
    return None


def parse_routing(section: Section) -> Routing:
    section.check_known(("live", "canary", "previous", "analysis"))
    live = section.text("live")
    previous = section.text("previous", None)
    canary_section = section.section("canary")
    canary = None
    if canary_section is not None:
        canary_section.check_known(("version", "percent", "mode"))
        version = canary_section.text("version")
        percent = canary_section.number("percent", REQUIRED, float("-inf"), float("inf"))
        if percent is not None and (problem := percent_problem(percent)):
            canary_section.problem(problem)
        mode = canary_section.choice("mode", CanaryMode, CanaryMode.REQUEST)
        canary = Canary(version, percent, mode)
    analysis = section.section("analysis")
    quality = analysis.section("quality") if analysis is not None else None
    return Routing(live, canary, previous, _analysis(analysis),
                   _thresholds(quality, QualityThresholds, QUALITY_KEYS) if quality is not None else None)


def _analysis(section: Section | None) -> AnalysisThresholds:
    if section is None:
        return AnalysisThresholds()
    section.check_known((*ANALYSIS_KEYS, "quality"))
    return _thresholds(section, AnalysisThresholds, ANALYSIS_KEYS, check=False)


def _thresholds(section: Section, kind, keys: dict, check: bool = True):
    """A thresholds dataclass from its section: each key read within its bounds, else the default."""
    if check:
        section.check_known(tuple(keys))
    defaults = kind()
    values = {}
    for key, (name, number_kind, low, high) in keys.items():
        default = getattr(defaults, name)
        read = section.integer if number_kind is int else section.number
        value = read(key, default, low, high)
        values[name] = default if value is None else value
    return kind(**values)


def _number(value: float) -> int | float:
    """Whole percents are written as integers, as people write them (``20``, not ``20.0``)."""
    return int(value) if float(value).is_integer() else float(value)


def routing_values(routing: Routing, written: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``ratings:routing`` mapping for ``routing``, keeping the order and every key of the mapping
    already ``written`` that routing does not own (``analysis``)."""
    written = dict(written or {})
    owned: dict[str, Any] = {"live": routing.live}
    if routing.canary is not None:
        owned["canary"] = _canary_values(routing.canary, written.get("canary"))
    if routing.previous is not None:
        owned["previous"] = routing.previous
    result = {key: owned[key] if key in owned else value for key, value in written.items()
              if key in owned or key not in ("live", "canary", "previous")}
    for key, value in owned.items():
        result.setdefault(key, value)
    return result


def _canary_values(canary: Canary, written: Any) -> dict[str, Any]:
    """A request-mode canary written without ``mode`` stays without it."""
    written = written if isinstance(written, Mapping) else {}
    values: dict[str, Any] = {"version": canary.version, "percent": _number(canary.percent)}
    if "mode" in written or not written or canary.mode is not CanaryMode.REQUEST:
        values["mode"] = canary.mode.value
    ordered = {key: values[key] for key in written if key in values}
    return {**ordered, **values}


def with_routing(values: Mapping[str, Any], routing: Routing) -> dict[str, Any]:
    """A copy of a stack's ``config:`` values with ``routing`` written back."""
    changed = copy.deepcopy(dict(values))
    changed[ROUTING_KEY] = routing_values(routing, values.get(ROUTING_KEY))
    return changed
