"""The ``routing`` section of the stack config, both ways: parsed into typed values, and written
back, so that a rollout plan transforms ``Routing -> Routing`` and never edits raw keys.

The written mapping keeps the order and every key of the one read (``analysis`` is the stack's,
never a plan's), and a whole percent stays an integer, as people write it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from core.fields import REQUIRED, Section, settled
from core.routing import Canary, CanaryMode, Routing, percent_problem
from core.thresholds import ANALYSIS_KEYS, QUALITY_KEYS, AnalysisThresholds, QualityThresholds

ROUTING_KEY = "ratings:routing"
OWNED = ("live", "canary", "previous")

T = TypeVar("T", AnalysisThresholds, QualityThresholds)


def parse_routing(section: Section) -> Routing:
    section.check_known(("live", "canary", "previous", "analysis"))
    live = section.text("live")
    previous = section.text("previous", None)
    canary = _canary(section.section("canary"))
    analysis = section.section("analysis")
    quality = analysis.section("quality") if analysis is not None else None
    return Routing(settled(live), canary, previous, _analysis(analysis),
                   _thresholds(quality, QualityThresholds, QUALITY_KEYS) if quality is not None else None)


def _canary(section: Section | None) -> Canary | None:
    if section is None:
        return None
    section.check_known(("version", "percent", "mode"))
    version = section.text("version")
    percent = section.number("percent", REQUIRED, float("-inf"), float("inf"))
    if percent is not None and (problem := percent_problem(percent)):
        section.problem(problem)
    mode = section.choice("mode", CanaryMode, CanaryMode.REQUEST)
    return Canary(settled(version), settled(percent), settled(mode))


def _analysis(section: Section | None) -> AnalysisThresholds:
    if section is None:
        return AnalysisThresholds()
    section.check_known((*ANALYSIS_KEYS, "quality"))
    return _thresholds(section, AnalysisThresholds, ANALYSIS_KEYS, check=False)


def _thresholds(section: Section, kind: type[T], keys: dict[str, tuple[str, type, float, float]],
                check: bool = True) -> T:
    """A thresholds dataclass from its section: each key read within its bounds, else the default."""
    if check:
        section.check_known(tuple(keys))
    defaults = kind()
    values: dict[str, Any] = {}
    for key, (name, number_kind, low, high) in keys.items():
        default = getattr(defaults, name)
        value = (section.integer(key, default, int(low), int(high)) if number_kind is int
                 else section.number(key, default, low, high))
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
    result = {key: owned.get(key, value) for key, value in written.items() if key in owned or key not in OWNED}
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
