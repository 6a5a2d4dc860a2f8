"""What `canary` prints: readable text for people, plain data for ``--json``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from canary.analysis import Analysis, VariantStats
from canary.plan import Plan
from canary.rollout import describe_duration
from canary.run_state import RunState, RunStatus, process_alive
from components.config import Routing, StackConfig


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values; list elements named by their ``name`` when they have one."""
    if isinstance(value, dict):
        items: dict[str, Any] = {}
        for key, item in value.items():
            items.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return items or {prefix: {}}
    if isinstance(value, list):
        items = {}
        for index, item in enumerate(value):
            label = item.get("name", index) if isinstance(item, dict) else index
            items.update(_flatten(item, f"{prefix}[{label}]"))
        return items or {prefix: []}
    return {prefix: value}


def change_lines(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every setting a command changes, in words rather than reprs."""
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


def shares(routing: Routing) -> dict[str, float]:
    """Configured share of API traffic per version."""
    canary = routing.canary
    result = {routing.live: 100.0 - (canary.percent if canary else 0.0)}
    if canary:
        result[canary.version] = canary.percent
    return result


def role(routing: Routing, name: str) -> str:
    canary = routing.canary
    if name == routing.live:
        return "live"
    if canary and name == canary.version:
        return "canary"
    return "previous" if name == routing.previous else "idle"


def routing_table(config: StackConfig) -> str:
    routing = config.routing
    share = shares(routing)
    lines = [f"{'version':<10}{'role':<12}{'traffic':>8}", "-" * 30]
    for name in config.model_names:
        lines.append(f"{name:<10}{role(routing, name):<12}{share.get(name, 0.0):>7.1f}%")
    if routing.canary:
        lines.append(f"canary mode: {routing.canary.mode.value}")
    return "\n".join(lines)


def _p99(stats: VariantStats) -> str:
    return f"{stats.latency_p99_ms:.2f}" if stats.latency_p99_ms is not None else "-"


def traffic_table(traffic: dict[str, VariantStats], window: str) -> str:
    total = sum(s.requests for s in traffic.values()) or 1
    lines = [f"\nlast {window} (served):", f"{'version':<10}{'requests':>9}{'share':>8}{'4xx':>8}{'5xx':>8}"
             f"{'p99 ms':>10}", "-" * 53]
    for name, stats in traffic.items():
        lines.append(f"{name:<10}{stats.requests:>9}{stats.requests / total:>8.1%}{stats.rate_4xx:>8.2%}"
                     f"{stats.rate_5xx:>8.2%}{_p99(stats):>10}")
    lines.append("4xx are client mistakes (refused requests): shown, never held against a version")
    return "\n".join(lines)


def verdict_line(result: Analysis) -> str:
    return f"verdict: {result.verdict.value} ({'; '.join(result.reasons)})"


def _clock(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%H:%M:%S")


def run_lines(run: RunState) -> list[str]:
    steps = ", ".join(f"{w:g}%" for w in run.weights)
    lines = [f"\nrun of {run.version}: {run.status.value} (phase {run.phase}), step {run.step + 1}/"
             f"{len(run.weights)} at {run.weight:g} %; steps {steps}, bake {describe_duration(run.bake_seconds)}, "
             f"analysis every {describe_duration(run.interval_seconds)}, failure limit {run.failure_limit}"]
    if run.status is RunStatus.RUNNING and not process_alive(run.pid):
        lines.append(f"  its process {run.pid} is gone: `canary --stack {run.stack} run --resume` continues it, "
                     f"`canary --stack {run.stack} rollback` stops the canary")
    if run.reason:
        lines.append(f"  {run.reason}")
    for record in run.verdicts[-5:]:
        lines.append(f"  {_clock(record.time)} step {record.step + 1} ({record.weight:g} %) {record.kind}: "
                     f"{record.verdict} ({'; '.join(record.reasons)})")
    return lines


def change_text(stack: str, planned: Plan, diff: list[str], applied: bool) -> str:
    lines = [f"{planned.command} on stack {stack}:"]
    lines += [f"  {line}" for line in change_lines(planned.before, planned.after)] or ["  no change"]
    lines += [f"  - {note}" for note in planned.notes]
    if diff:
        lines += [""] + diff
    lines.append("applied" if applied else "dry run: nothing changed")
    return "\n".join(lines)


def routing_json(routing: Routing) -> dict[str, Any]:
    canary = routing.canary
    return {"live": routing.live, "previous": routing.previous,
            "canary": None if canary is None else {"version": canary.version, "percent": canary.percent,
                                                   "mode": canary.mode.value}}


def stats_json(stats: VariantStats) -> dict[str, Any]:
    return {"requests": stats.requests, "errors4xx": stats.errors_4xx, "errors5xx": stats.errors_5xx,
            "rate5xx": stats.rate_5xx, "latencyP99Ms": stats.latency_p99_ms}


def analysis_json(result: Analysis | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"verdict": result.verdict.value, "reasons": result.reasons, "live": stats_json(result.live),
            "candidate": stats_json(result.candidate)}


def change_json(stack: str, planned: Plan, diff: list[str], applied: bool,
                result: Analysis | None = None) -> dict[str, Any]:
    change = planned.change
    return {"command": planned.command, "stack": stack, "applied": applied,
            "changes": change_lines(planned.before, planned.after), "notes": planned.notes, "diff": diff,
            "routing": {"before": routing_json(change.before), "after": routing_json(change.after)} if change else None,
            "analysis": analysis_json(result)}
