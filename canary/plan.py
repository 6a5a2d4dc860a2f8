"""Pure rollout planning: each command maps the stack config to a new one, or refuses.

Plans work on the raw ``config:`` values (so every other setting is kept as written) and are
checked by parsing the result with the same validation the Pulumi program uses.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from components import config as stack_config
from components.config import CanaryMode, StackConfig

ROUTING_KEY = "ratings:routing"
MODELS_KEY = "ratings:models"
ENDPOINT_KEY = "ratings:endpoint"


class Refusal(Exception):
    """A command that must not run on this config; the message says why and what to do."""


@dataclass(frozen=True)
class Plan:
    command: str
    before: dict[str, Any]
    after: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def changes(self) -> list[str]:
        """``key: old -> new`` lines for every top-level config value that differs."""
        lines = []
        for key in sorted(set(self.before) | set(self.after)):
            old, new = self.before.get(key), self.after.get(key)
            if old != new:
                lines.append(f"{key}: {old} -> {new}")
        return lines


def _routing(values: dict[str, Any]) -> dict[str, Any]:
    return dict(values.get(ROUTING_KEY) or {})


def _plan(command: str, values: dict[str, Any], routing: dict[str, Any], notes: list[str] | None = None,
          **other: Any) -> Plan:
    after = copy.deepcopy(values)
    after[ROUTING_KEY] = {k: v for k, v in routing.items() if v is not None}
    after.update(other)
    stack_config.parse(after)  # a plan never produces a config the program would reject
    return Plan(command, values, after, notes or [])


def start(values: dict[str, Any], config: StackConfig, version: str, percent: float, sticky: bool = False) -> Plan:
    if version not in config.model_names:
        raise Refusal(f"{version} is not a configured model version ({', '.join(config.model_names)}); "
                      "add it under ratings:models and run `pulumi up` first")
    if config.routing.canary is not None:
        raise Refusal(f"a canary of {config.routing.canary.version} is already running; promote or roll it back first")
    if version == config.routing.live:
        raise Refusal(f"{version} is already live")
    if not 0 < percent <= 100:
        raise Refusal(f"percent {percent:g} must be in (0, 100]")
    mode = CanaryMode.STICKY if sticky else CanaryMode.REQUEST
    routing = {**_routing(values), "canary": {"version": version, "percent": percent, "mode": mode.value}}
    return _plan("start", values, routing, [f"{percent:g} % of traffic to {version} ({mode.value})"])


def set_percent(values: dict[str, Any], config: StackConfig, percent: float) -> Plan:
    canary = config.routing.canary
    if canary is None:
        raise Refusal("no canary is running; start one with `canary start VERSION --percent P`")
    if not 0 < percent <= 100:
        raise Refusal(f"percent {percent:g} must be in (0, 100]")
    routing = _routing(values)
    routing["canary"] = {**routing["canary"], "percent": percent}
    return _plan("set", values, routing, [f"{canary.version}: {canary.percent:g} % -> {percent:g} %"])


def promote(values: dict[str, Any], config: StackConfig) -> Plan:
    """The candidate becomes live; the old live version stays deployed for instant rollback."""
    canary = config.routing.canary
    if canary is None:
        raise Refusal("no canary is running; nothing to promote")
    routing = {"live": canary.version, "previous": config.routing.live}
    return _plan("promote", values, routing,
                 [f"{canary.version} is live; {config.routing.live} stays deployed (weight 0) for `canary rollback`"])


def rollback(values: dict[str, Any], config: StackConfig) -> Plan:
    """Stop a running canary, or flip back to the version live before the last promotion."""
    routing = config.routing
    if routing.canary is not None:
        restored = {k: v for k, v in _routing(values).items() if k != "canary"}
        return _plan("rollback", values, restored, [f"canary of {routing.canary.version} stopped; "
                                                    f"{routing.live} keeps all traffic"])
    if routing.previous is not None:
        return _plan("rollback", values, {"live": routing.previous},
                     [f"{routing.previous} is live again (was {routing.live})"])
    raise Refusal("nothing to roll back: no canary is running and no previous live version is recorded")


def retire(values: dict[str, Any], config: StackConfig, version: str) -> Plan:
    """Remove a version that serves no traffic (an endpoint update: SageMaker blue/green)."""
    if version not in config.model_names:
        raise Refusal(f"{version} is not a configured model version")
    if version == config.routing.live:
        raise Refusal(f"{version} is live; promote another version first")
    if config.routing.canary is not None and version == config.routing.canary.version:
        raise Refusal(f"{version} is the running canary; roll it back first")
    models = [m for m in values[MODELS_KEY] if m.get("name") != version]
    routing = _routing(values)
    notes = [f"{version} removed from the endpoint (a blue/green endpoint update on AWS)"]
    if routing.get("previous") == version:
        routing.pop("previous")
        notes.append(f"rollback to {version} is no longer possible")
    endpoint = dict(values.get(ENDPOINT_KEY) or {})
    if config.endpoint.default_variant == version:
        endpoint["defaultVariant"] = config.routing.live
        notes.append(f"endpoint default variant is now {config.routing.live}")
    return _plan("retire", values, routing, notes, **{MODELS_KEY: models, ENDPOINT_KEY: endpoint})
