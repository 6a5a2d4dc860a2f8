"""Tables and the chart that `canary status` shows."""

from __future__ import annotations

from pathlib import Path

from canary.analysis import Analysis, VariantStats
from components.config import StackConfig


def routing_table(config: StackConfig) -> str:
    routing = config.routing
    canary = routing.canary
    share = {routing.live: 100.0 - (canary.percent if canary else 0.0)}
    if canary:
        share[canary.version] = canary.percent
    lines = [f"{'version':<10}{'role':<12}{'traffic':>8}", "-" * 30]
    for name in config.model_names:
        role = ("live" if name == routing.live else "canary" if canary and name == canary.version
                else "previous" if name == routing.previous else "idle")
        lines.append(f"{name:<10}{role:<12}{share.get(name, 0.0):>7.1f}%")
    if canary:
        lines.append(f"canary mode: {canary.mode.value}")
    return "\n".join(lines)


def _row(name: str, stats: VariantStats) -> str:
    p99 = f"{stats.latency_p99_ms:.2f}" if stats.latency_p99_ms is not None else "-"
    return f"{name:<10}{stats.requests:>9}{stats.rate_4xx:>8.2%}{stats.rate_5xx:>8.2%}{p99:>10}"


def analysis_table(config: StackConfig, result: Analysis, window: str) -> str:
    lines = [f"\nlast {window}:", f"{'version':<10}{'requests':>9}{'4xx':>8}{'5xx':>8}{'p99 ms':>10}", "-" * 45,
             _row(config.routing.live, result.live), _row(config.routing.canary.version, result.candidate),
             f"verdict: {result.verdict.value} ({'; '.join(result.reasons)})"]
    return "\n".join(lines)


def chart(source, config: StackConfig, window_seconds: float, path: Path) -> None:
    """Requests and model latency p99 per minute for live and candidate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    versions = [config.routing.live, config.routing.canary.version]
    series = source.periods(window_seconds).get("Variants", {})
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 5), dpi=110)
    for version in versions:
        periods = series.get(version, [])
        minutes = [p["Timestamp"] / 60 for p in periods]
        top.plot(minutes, [p["Invocations"] for p in periods], marker=".", label=version)
        bottom.plot(minutes, [(p["ModelLatency"] or {}).get("p99", 0) / 1000 for p in periods], marker=".",
                    label=version)
    top.set_ylabel("requests / minute")
    bottom.set_ylabel("model latency p99 (ms)")
    bottom.set_xlabel("minute (epoch minutes)")
    top.legend()
    top.set_title(f"{config.endpoint.name}: live {versions[0]} vs canary {versions[1]}")
    figure.tight_layout()
    partial = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(partial)
    plt.close(figure)
    partial.replace(path)
