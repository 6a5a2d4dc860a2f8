"""Rollout planning: each command maps the current routing to a new one, or refuses.

Plans transform typed values (``Routing -> Routing`` with ``dataclasses.replace``); the config
model writes the result back into the stack values (``core.config.with_routing``), the stack file
renders them into its own text, and the result is checked with the same validation the Pulumi
program uses, so a plan never produces a config that `pulumi up` would reject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core import config as stack_config
from core.config import StackConfig
from core.routing import Canary, CanaryMode, Routing, percent_problem
from core.stack_file import StackDocument

MSG_UNKNOWN_VERSION = "{version} is not a configured model version ({known})"
MSG_ALREADY_RUNNING = "a canary of {version} is already running; promote or roll it back first"
MSG_ALREADY_LIVE = "{version} is already live"
MSG_NO_CANARY = "no canary is running; start one with `canary start VERSION --percent P`"
MSG_NOTHING_TO_PROMOTE = "no canary is running; nothing to promote"
MSG_NOTHING_TO_ROLL_BACK = "nothing to roll back: no canary is running and no previous live version is recorded"
MSG_RETIRE_LIVE = "{version} is live; promote another version first"
MSG_KEPT_DEFAULT = ("{version} stays deployed with its instances running, for `canary rollback`; it is the endpoint's "
                    "default variant (weight 1), so InvokeEndpoint calls that name no variant still reach it")
MSG_KEPT_IDLE = ("{version} stays deployed with its instances running, for `canary rollback`; at endpoint weight 0 it "
                 "answers only calls that name it")
MSG_KEPT_SCALED = ("; it leaves autoscaling and keeps the instance count autoscaling last gave it: `aws sagemaker "
                   "update-endpoint-weights-and-capacities --endpoint-name {endpoint} --desired-weights-and-capacities "
                   "VariantName={version},DesiredInstanceCount={count}` brings it back to its configured {count}")
MSG_RETIRE_CANARY = "{version} is the running canary; roll it back first"


class Refusal(Exception):
    """A command that must not run on this config; the message says why and what to do."""


class UnknownVersion(Refusal):
    """A version the stack file does not list; how to add one depends on where the stack runs."""


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
    """A change written into a stack file: the file as read, the config and text after the change,
    and what a person reads about it (settings in words, a diff, notes)."""

    change: Change
    document: StackDocument
    after: StackConfig
    text: str
    changes: list[str]

    @property
    def before(self) -> StackConfig:
        return self.document.config

    @property
    def diff(self) -> list[str]:
        return self.document.diff(self.text)

    @property
    def command(self) -> str:
        return self.change.command

    @property
    def notes(self) -> list[str]:
        return self.change.notes


def check_version(config: StackConfig, version: str) -> None:
    if version not in config.model_names:
        raise UnknownVersion(MSG_UNKNOWN_VERSION.format(version=version, known=", ".join(config.model_names)))


def check_percent(percent: float) -> None:
    problem = percent_problem(percent, "percent")
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
    return Change("promote", routing, after, [f"{routing.canary.version} is live", _kept_note(config, routing.live)])


def _kept_note(config: StackConfig, version: str) -> str:
    """What keeps running of the version a promotion takes out of service, and what it costs."""
    endpoint = config.endpoint
    reached = (MSG_KEPT_DEFAULT if version == endpoint.default_variant else MSG_KEPT_IDLE).format(version=version)
    if endpoint.autoscaling is None:
        return reached
    return reached + MSG_KEPT_SCALED.format(version=version, endpoint=endpoint.name,
                                            count=config.model(version).instance_count)


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


def written(document: StackDocument, change: Change) -> Plan:
    """The stack file after ``change``, validated as the Pulumi program validates it."""
    before = document.config
    values = stack_config.with_routing(document.values, change.after)
    if change.retired is not None:
        new_default = change.after.live if before.endpoint.default_variant == change.retired else None
        values = stack_config.without_model(values, change.retired, new_default)
    after = stack_config.parse(values)
    return Plan(change, document, after, document.render(values), change_lines(document.values, values))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values; list elements named by their ``name`` when they have one."""
    if isinstance(value, Mapping):
        items: dict[str, Any] = {}
        for key, item in value.items():
            items.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return items or {prefix: {}}
    if isinstance(value, list):
        items = {}
        for index, item in enumerate(value):
            label = item.get("name", index) if isinstance(item, Mapping) else index
            items.update(_flatten(item, f"{prefix}[{label}]"))
        return items or {prefix: []}
    return {prefix: value}


def change_lines(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting a change makes, in words rather than reprs."""
    old, new = _flatten(before), _flatten(after)
    lines = []
    for key in list(old) + [k for k in new if k not in old]:
        if key not in new:
            lines.append(f"{key}: {old[key]} -> (removed)")
        elif key not in old:
            lines.append(f"{key}: (new) {new[key]}")
        elif old[key] != new[key]:
            lines.append(f"{key}: {old[key]} -> {new[key]}")
    return lines
