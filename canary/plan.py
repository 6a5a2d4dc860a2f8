"""Pure rollout planning: each command maps the current routing to a new one, or refuses.

Plans transform typed values (``Routing -> Routing`` with ``dataclasses.replace``); the config
model writes the result back into the stack values (``components.config.with_routing``), and the
result is checked with the same validation the Pulumi program uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from components import config as stack_config
from components.config import Canary, CanaryMode, Routing, StackConfig

MSG_UNKNOWN_VERSION = ("{version} is not a configured model version ({known}); "
                       "add it under ratings:models and run `pulumi up` first")
MSG_ALREADY_RUNNING = "a canary of {version} is already running; promote or roll it back first"
MSG_ALREADY_LIVE = "{version} is already live"
MSG_NO_CANARY = "no canary is running; start one with `canary start VERSION --percent P`"
MSG_NOTHING_TO_PROMOTE = "no canary is running; nothing to promote"
MSG_NOTHING_TO_ROLL_BACK = "nothing to roll back: no canary is running and no previous live version is recorded"
MSG_RETIRE_LIVE = "{version} is live; promote another version first"
MSG_RETIRE_CANARY = "{version} is the running canary; roll it back first"


class Refusal(Exception):
    """A command that must not run on this config; the message says why and what to do."""


@dataclass(frozen=True)
class Change:
    """What a command does to the routing (and, for ``retire``, to the version set)."""

    command: str
    before: Routing
    after: Routing
    notes: list[str] = field(default_factory=list)
    retired: str | None = None


@dataclass(frozen=True)
class Plan:
    """A change written into the stack values: what ``StackOps.apply`` writes."""

    command: str
    before: dict[str, Any]
    after: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    change: Change | None = None


def check_version(config: StackConfig, version: str) -> None:
    if version not in config.model_names:
        raise Refusal(MSG_UNKNOWN_VERSION.format(version=version, known=", ".join(config.model_names)))


def check_percent(percent: float) -> None:
    problem = stack_config.percent_problem(percent, "percent")
    if problem:
        raise Refusal(problem)


def start(config: StackConfig, version: str, percent: float, sticky: bool = False) -> Change:
    routing = config.routing
    check_version(config, version)
    if routing.canary is not None:
        raise Refusal(MSG_ALREADY_RUNNING.format(version=routing.canary.version))
    if version == routing.live:
        raise Refusal(MSG_ALREADY_LIVE.format(version=version))
    check_percent(percent)
    mode = CanaryMode.STICKY if sticky else CanaryMode.REQUEST
    after = replace(routing, canary=Canary(version, percent, mode))
    return Change("start", routing, after, [f"{percent:g} % of traffic to {version} ({mode.value})"])


def set_percent(config: StackConfig, percent: float) -> Change:
    routing = config.routing
    if routing.canary is None:
        raise Refusal(MSG_NO_CANARY)
    check_percent(percent)
    after = replace(routing, canary=replace(routing.canary, percent=percent))
    return Change("set", routing, after, [f"{routing.canary.version}: {routing.canary.percent:g} % -> {percent:g} %"])


def promote(config: StackConfig) -> Change:
    """The candidate becomes live; the old live version stays deployed for instant rollback."""
    routing = config.routing
    if routing.canary is None:
        raise Refusal(MSG_NOTHING_TO_PROMOTE)
    after = replace(routing, live=routing.canary.version, canary=None, previous=routing.live)
    return Change("promote", routing, after, [f"{routing.canary.version} is live; {routing.live} stays deployed "
                                              "(weight 0) for `canary rollback`"])


def rollback(config: StackConfig) -> Change:
    """Stop a running canary, or flip back to the version live before the last promotion."""
    routing = config.routing
    if routing.canary is not None:
        return Change("rollback", routing, replace(routing, canary=None),
                      [f"canary of {routing.canary.version} stopped; {routing.live} keeps all traffic"])
    if routing.previous is not None:
        return Change("rollback", routing, replace(routing, live=routing.previous, previous=None),
                      [f"{routing.previous} is live again (was {routing.live})"])
    raise Refusal(MSG_NOTHING_TO_ROLL_BACK)


def retire(config: StackConfig, version: str) -> Change:
    """Remove a version that serves no traffic (an endpoint update: SageMaker blue/green)."""
    routing = config.routing
    check_version(config, version)
    if version == routing.live:
        raise Refusal(MSG_RETIRE_LIVE.format(version=version))
    if routing.canary is not None and version == routing.canary.version:
        raise Refusal(MSG_RETIRE_CANARY.format(version=version))
    notes = [f"{version} removed from the endpoint (a blue/green endpoint update on AWS)"]
    after = routing
    if routing.previous == version:
        after = replace(routing, previous=None)
        notes.append(f"rollback to {version} is no longer possible")
    if config.endpoint.default_variant == version:
        notes.append(f"endpoint default variant is now {routing.live}")
    return Change("retire", routing, after, notes, retired=version)


def written(values: dict[str, Any], config: StackConfig, change: Change) -> Plan:
    """The stack values after ``change``; a plan never produces a config the program would reject."""
    after = stack_config.with_routing(values, change.after)
    if change.retired is not None:
        new_default = change.after.live if config.endpoint.default_variant == change.retired else None
        after = stack_config.without_model(after, change.retired, new_default)
    stack_config.parse(after)
    return Plan(change.command, values, after, list(change.notes), change)
