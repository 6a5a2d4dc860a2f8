"""The `canary status --chart` picture: requests, 5xx rate and p99 per minute for every version that
served, against clock time, with the thresholds drawn and the run's weight changes marked."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from core.metrics import Point
from core.run_state import RunState
from core.thresholds import AnalysisThresholds

MSG_NO_DATA = "no requests in this window"


def draw(series: dict[str, list[Point]], title: str, thresholds: AnalysisThresholds, run: RunState | None,
         path: Path, live: str | None = None, window_seconds: float = 600.0) -> None:
    """Write a PNG (atomically) with three panels sharing a clock-time axis."""
    import matplotlib.pyplot as plt

    figure = figure_of(series, title, thresholds, run, live, window_seconds)
    partial = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(partial)
    plt.close(figure)
    partial.replace(path)


def figure_of(series: dict[str, list[Point]], title: str, thresholds: AnalysisThresholds, run: RunState | None,
              live: str | None = None, window_seconds: float = 600.0, now: float | None = None) -> Any:
    """The chart's matplotlib figure. With no point at all the time axis still spans the window
    that was read, ending now (matplotlib's default range would label every tick 00:00)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, (requests, errors, latency) = plt.subplots(3, 1, sharex=True, figsize=(9.5, 7), dpi=110)
    for version, points in series.items():
        if not points:
            continue
        times = [dt.datetime.fromtimestamp(p.time) for p in points]
        requests.plot(times, [p.requests for p in points], marker=".", label=version)
        errors.plot(times, [100 * p.rate_5xx for p in points], marker=".", label=version)
        latency.plot(times, [p.latency_p99_ms if p.latency_p99_ms is not None else float("nan") for p in points],
                     marker=".", label=version)
    limits = [(dt.datetime.fromtimestamp(p.time), p.latency_p99_ms * thresholds.max_latency_ratio)
              for p in series.get(live or "", []) if p.latency_p99_ms is not None]
    if limits:
        latency.plot([when for when, _ in limits], [limit for _, limit in limits], color="red",
                     linestyle="--", linewidth=1, label=f"{live} p99 x {thresholds.max_latency_ratio:g} (limit)")
    errors.axhline(100 * thresholds.min_error_rate, color="grey", linestyle=":", linewidth=1,
                   label=f"5xx under {thresholds.min_error_rate:.1%} never fail")
    error_limits = [(dt.datetime.fromtimestamp(p.time), 100 * p.rate_5xx * thresholds.max_error_ratio)
                    for p in series.get(live or "", [])]
    if error_limits:
        errors.plot([when for when, _ in error_limits], [limit for _, limit in error_limits], color="red",
                    linestyle="--", linewidth=1, label=f"{live} 5xx x {thresholds.max_error_ratio:g} (tolerance)")
    latency.axhline(thresholds.latency_floor_ms, color="grey", linestyle=":", linewidth=1,
                    label=f"latency floor {thresholds.latency_floor_ms:g} ms")
    for weight_time, weight in (run.step_times if run else []):
        when = dt.datetime.fromtimestamp(weight_time)
        for axis in (requests, errors, latency):
            axis.axvline(when, color="black", linestyle="-.", linewidth=0.8)
        requests.annotate(f"{weight:g} %", (when, 1.0), xycoords=("data", "axes fraction"), xytext=(3, 2),
                          textcoords="offset points", va="bottom", fontsize=8, fontweight="bold")
    requests.set_ylabel("requests / min")
    errors.set_ylabel("5xx rate (%)")
    latency.set_ylabel("model p99 (ms)")
    latency.set_xlabel("local time (dash-dot lines: the run set the canary weight shown above)")
    requests.set_ylim(bottom=0)
    errors.set_ylim(bottom=0)
    latency.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    for axis in (requests, errors, latency):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # a panel with nothing drawn has no legend
            axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    requests.set_title(title, pad=14)
    if not any(series.values()):
        end = dt.datetime.fromtimestamp(time.time() if now is None else now)
        latency.set_xlim(end - dt.timedelta(seconds=window_seconds), end)
        requests.text(0.5, 0.5, MSG_NO_DATA, transform=requests.transAxes, ha="center", va="center", color="grey")
    figure.tight_layout()
    return figure
