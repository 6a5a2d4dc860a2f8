"""What `canary` prints: readable text for people, plain data for ``--json``. Pure: values in,
text or JSON-ready data out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core import routing as routes
from core.analysis import Analysis
from core.config import StackConfig
from core.metrics import VariantStats
from core.plans import Plan
from core.routing import Role
from core.run_state import RunState, RunStatus
from core.schedule import StepKind, describe_duration

ROLE_LABELS = {Role.CANDIDATE: "canary"}


def routing_table(config: StackConfig) -> str:
    routing = config.routing
    lines = [f"{'version':<10}{'role':<12}{'traffic':>8}", "-" * 30]
    for name in config.model_names:
        role = routes.role_of(routing, name)
        lines.append(f"{name:<10}{ROLE_LABELS.get(role, role.value):<12}{routes.share_of(routing, name):>7.1f}%")
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


def checks_table(result: Analysis) -> str:
    """The evidence behind a verdict: each metric for both versions, its threshold and the test."""
    rows = [("check", "live", "candidate", "threshold", "evidence")]
    rows += [(("x " if c.failed else "") + c.metric, c.live, c.candidate, c.threshold, c.evidence)
             for c in result.checks]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  " + "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
                     + ("  " + row[4] if row[4] else "") for row in rows).rstrip()


def _clock(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%H:%M:%S")


def run_lines(run: RunState, alive: bool) -> list[str]:
    """The recorded run; ``alive``: whether the process that records it still runs."""
    steps = ", ".join(f"{w:g}%" for w in run.weights)
    lines = [f"\nrun of {run.version}: {run.status.value} (phase {run.phase.value}), step {run.step + 1}/"
             f"{len(run.weights)} at {run.weight:g} %; steps {steps}, bake {describe_duration(run.bake_seconds)}, "
             f"analysis every {describe_duration(run.interval_seconds)}, failure limit {run.failure_limit}"]
    if run.bake_factor > 1.0:
        lines.append(f"  the stage cache hid most of live's requests from its model: the last bake runs "
                     f"{describe_duration(run.bake_seconds * run.bake_factor)} ({run.bake_factor:.1f}x)")
    if run.status is RunStatus.RUNNING and not alive:
        lines.append(f"  its process {run.pid} is gone: `canary --stack {run.stack} run --resume` continues it, "
                     f"`canary --stack {run.stack} rollback` stops the canary")
    if run.reason:
        lines.append(f"  {run.reason}")
    for record in run.verdicts[-5:]:
        lines.append(f"  {_clock(record.time)} step {record.step + 1} ({record.weight:g} %) {record.kind.value}: "
                     f"{record.verdict.value} ({'; '.join(record.reasons)})")
    return lines


def schedule_lines(run: RunState) -> list[str]:
    """The records a run will walk from where it stands, each under its weight step: what
    ``run --dry-run`` prints, and exactly what the run executes."""
    lines = []
    step = run.step
    for index in range(run.position, len(run.steps)):
        record = run.steps[index]
        if record.kind is StepKind.SET_WEIGHT and index > run.position:
            step += 1
        lines.append(f"step {step + 1}: {record.describe(run.interval_seconds)}")
    return lines


def change_text(stack: str, planned: Plan, applied: bool) -> str:
    lines = [f"{planned.command} on stack {stack}:"]
    lines += [f"  {line}" for line in planned.changes] or ["  no change"]
    lines += [f"  - {note}" for note in planned.notes]
    diff = planned.diff
    if diff:
        lines += ["", *diff]
    lines.append("applied" if applied else "dry run: nothing changed")
    return "\n".join(lines)


def stats_json(stats: VariantStats) -> dict[str, Any]:
    return {"requests": stats.requests, "errors4xx": stats.errors_4xx, "errors5xx": stats.errors_5xx,
            "rate5xx": stats.rate_5xx, "latencyP99Ms": stats.latency_p99_ms}


def analysis_json(result: Analysis | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"verdict": result.verdict.value, "reasons": result.reasons, "live": stats_json(result.live),
            "candidate": stats_json(result.candidate), "checks": [check.to_json() for check in result.checks]}


def change_json(stack: str, planned: Plan, applied: bool, result: Analysis | None = None) -> dict[str, Any]:
    change = planned.change
    return {"command": planned.command, "stack": stack, "applied": applied, "changes": planned.changes,
            "notes": planned.notes, "diff": planned.diff,
            "routing": {"before": routes.to_json(change.before), "after": routes.to_json(change.after)},
            "analysis": analysis_json(result)}
