"""What a stack-file edit means for a running local API: pure decisions, no IO.

Routing and throttling apply at once. Versions added to ``ratings:models`` are started and
versions removed are stopped by the running stack (``emulator.fleet``); a route to a version whose
model server is not up yet waits (the previous state keeps serving) and applies once it answers:
the gateway would otherwise send that share of traffic to nowhere. Settings the running processes
were started with need a restart, and the report says so instead of claiming they were applied.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from core.config import Fault, StackConfig
from core.routing import serving_versions

NO_SERVER = ("version {version} has no model server up yet (running: {running}); the edit applies once it "
             "answers")
NEEDS_RESTART = "{what} changed: takes effect after restarting `ratings local up`"
NOT_EMULATED = "{what} is not enforced by the local API"


def unservable(config: StackConfig, running: Collection[str]) -> list[str]:
    """Problems that forbid applying ``config`` while only ``running`` versions have servers."""
    names = ", ".join(sorted(running)) or "none"
    return [NO_SERVER.format(version=version, running=names)
            for version in dict.fromkeys(serving_versions(config.routing)) if version not in running]


@dataclass(frozen=True)
class FleetChange:
    """Model servers to start and to stop so the running stack matches its file."""

    start: tuple[str, ...]
    stop: tuple[str, ...]


def fleet_change(wanted: StackConfig, running: Collection[str], served: StackConfig) -> FleetChange:
    """Start every configured version without a server; stop a server whose version the file no
    longer lists, once the state being served no longer routes to it."""
    routed = set(serving_versions(served.routing))
    return FleetChange(tuple(name for name in wanted.model_names if name not in running),
                       tuple(name for name in running if name not in wanted.model_names and name not in routed))


def restart_notes(old: StackConfig, new: StackConfig) -> list[str]:
    """Changes this process cannot apply while running."""
    notes = []
    if replace(new.local, faults={}) != replace(old.local, faults={}):  # faults apply at once
        notes.append(NEEDS_RESTART.format(what="ratings:local (ports, artifacts, canarySeed)"))
    if new.endpoint.name != old.endpoint.name:
        notes.append(NEEDS_RESTART.format(what="the endpoint name"))
    if new.api.quota != old.api.quota and new.api.quota is not None:
        notes.append(NOT_EMULATED.format(what="the usage-plan quota"))
    return notes


def applied_summary(config: StackConfig) -> str:
    canary = config.routing.canary
    parts = [f"live {config.routing.live}"]
    if canary is not None:
        parts.append(f"canary {canary.version} at {canary.percent:g} % ({canary.mode.value})")
    throttle = config.api.throttle
    parts.append(f"throttle {throttle.rate_limit:g} req/s, burst {throttle.burst_limit}")
    parts += [f"fault on {version}: {_fault(fault)}" for version, fault in config.local.faults.items()]
    return ", ".join(parts)


def _fault(fault: Fault) -> str:
    if fault.hang:
        return "hangs"
    said = [f"{fault.error_rate:.2%} errors" if fault.error_rate else "",
            f"+{fault.added_latency_ms:g} ms" if fault.added_latency_ms else ""]
    return ", ".join(part for part in said if part) or "none"
