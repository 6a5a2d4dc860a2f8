"""What the local dashboard shows, as pure functions of the runtime's metrics, the config and a
``canary run``'s recorded state. No I/O here: ``emulator.dashboard`` gathers the inputs.

Rates are measured, not estimated: the runtime counts per variant and per minute, so two
snapshots a few seconds apart give exact counts for the time between them (a minute's counter
only grows). Window figures and the verdict come from the analysis in ``core``, the one
``canary`` applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import routing as routes
from core.analysis import Analysis
from core.metrics import PERIOD_SECONDS, Period, Snapshot, VariantStats
from core.routing import Routing
from core.run_state import RunState, RunStatus

RATE_SPAN_S = 10.0  # "now" means the last ten seconds
MIN_RATE_SPAN_S = 0.5  # two snapshots closer than this give a rate too noisy to show
LATEST_MINUTE_MAX_AGE_S = 120  # a minute older than the previous one is not "now"
CHART_MINUTES = 10  # the time series: the analysis window's minutes, the current one included


@dataclass(frozen=True)
class Counts:
    requests: int
    errors_4xx: int
    errors_5xx: int


@dataclass(frozen=True)
class Sample:
    """Per variant, per period start: counts so far, read at ``at`` (monotonic seconds)."""

    at: float
    counts: dict[str, dict[int, Counts]]


@dataclass(frozen=True)
class Recent:
    per_second: float
    rate_4xx: float | None  # None: no request in the span
    rate_5xx: float | None


def sample_of(snapshot: Snapshot, at: float) -> Sample:
    """A Sample from the runtime's metrics snapshot."""
    return Sample(at, {
        variant: {period.start: Counts(period.invocations, period.errors_4xx, period.errors_5xx) for period in periods}
        for variant, periods in snapshot.variants.items()})


def _growth(before: dict[int, Counts], after: dict[int, Counts]) -> Counts:
    """What the periods in ``after`` gained since ``before`` (a period new in ``after`` counts whole)."""
    empty = Counts(0, 0, 0)
    requests = errors_4xx = errors_5xx = 0
    for start, now in after.items():
        then = before.get(start, empty)
        requests += max(0, now.requests - then.requests)
        errors_4xx += max(0, now.errors_4xx - then.errors_4xx)
        errors_5xx += max(0, now.errors_5xx - then.errors_5xx)
    return Counts(requests, errors_4xx, errors_5xx)


def recent(earlier: Sample, later: Sample) -> dict[str, Recent]:
    """Per variant: requests per second and error shares between two samples."""
    seconds = later.at - earlier.at
    if seconds <= 0:
        raise ValueError("the later sample must be taken after the earlier one")
    result = {}
    for variant, periods in later.counts.items():
        grown = _growth(earlier.counts.get(variant, {}), periods)
        result[variant] = Recent(
            grown.requests / seconds,
            grown.errors_4xx / grown.requests if grown.requests else None,
            grown.errors_5xx / grown.requests if grown.requests else None)
    return result


class RateMeter:
    """Keeps samples of the last ``RATE_SPAN_S`` seconds; each reading compares the newest with
    the oldest kept one. Any number of pages can poll: samples closer than ``MIN_RATE_SPAN_S``
    are not kept, so memory stays bounded and a fast poller does not shorten the span."""

    def __init__(self, span_s: float = RATE_SPAN_S, min_span_s: float = MIN_RATE_SPAN_S):
        self.span_s, self.min_span_s = span_s, min_span_s
        self._samples: list[Sample] = []

    def observe(self, sample: Sample) -> dict[str, Recent] | None:
        self._samples = [s for s in self._samples if sample.at - s.at <= self.span_s]
        usable = [s for s in self._samples if sample.at - s.at >= self.min_span_s]
        reading = recent(usable[0], sample) if usable else None
        if not self._samples or sample.at - self._samples[-1].at >= self.min_span_s:
            self._samples.append(sample)
        return reading


def from_last_minute(snapshot: Snapshot, now: float) -> dict[str, Recent]:
    """Until two polls give a rate, the last whole minute's: a page opened on a busy API shows its
    req/s at once rather than "-" until its second poll."""
    last = int(now // PERIOD_SECONDS) * PERIOD_SECONDS - PERIOD_SECONDS
    result = {}
    for variant, periods in snapshot.variants.items():
        counts = next((p for p in periods if p.start == last), None)
        requests = counts.invocations if counts else 0
        result[variant] = Recent(requests / PERIOD_SECONDS,
                                 counts.errors_4xx / requests if counts and requests else None,
                                 counts.errors_5xx / requests if counts and requests else None)
    return result


def latest_latency_ms(periods: tuple[Period, ...], now: float) -> dict[str, float] | None:
    """p50 and p99 (ms) of the newest minute with a latency, if it is recent enough to be 'now'."""
    timed = [(p.start, p.latency) for p in periods if p.latency and now - p.start <= LATEST_MINUTE_MAX_AGE_S]
    if not timed:
        return None
    _, latency = max(timed, key=lambda pair: pair[0])
    return {"p50": latency.p50 / 1000, "p99": latency.p99 / 1000}


def version_view(routing: Routing, version: str) -> dict[str, Any]:
    """The role and configured share of one version."""
    return {"role": routes.role_of(routing, version).value, "share": routes.share_of(routing, version)}


def stats_view(stats: VariantStats) -> dict[str, Any]:
    return {"requests": stats.requests, "rate4xx": stats.rate_4xx if stats.requests else None,
            "rate5xx": stats.rate_5xx if stats.requests else None, "p99Ms": stats.latency_p99_ms}


def recent_view(reading: Recent | None) -> dict[str, Any]:
    if reading is None:
        return {"perSecond": None, "rate4xx": None, "rate5xx": None}
    return {"perSecond": reading.per_second, "rate4xx": reading.rate_4xx, "rate5xx": reading.rate_5xx}


def analysis_view(result: Analysis | None, window_s: float) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"verdict": result.verdict.value, "reasons": list(result.reasons), "windowSeconds": window_s,
            "checks": [check.to_json() for check in result.checks]}


def run_view(run: RunState | None, alive: Callable[[int], bool]) -> dict[str, Any] | None:
    """The step of a ``canary run`` in progress; None when there is none or it has ended.

    ``alive(pid) -> bool`` says whether the recording process still runs: a run whose process
    died without recording its end is shown as such rather than as progressing.
    """
    if run is None or run.status is not RunStatus.RUNNING or not run.weights:
        return None
    last = run.verdicts[-1] if run.verdicts else None
    return {"version": run.version, "step": run.step + 1, "steps": len(run.weights), "weight": run.weight,
            "weights": run.weights, "phase": run.phase.value, "failures": run.failures,
            "failureLimit": run.failure_limit,
            "lastVerdict": None if last is None else {"verdict": last.verdict.value, "kind": last.kind.value},
            "processAlive": alive(run.pid)}


def chart_view(snapshot: Snapshot, names: list[str], now: float, minutes: int = CHART_MINUTES) -> dict[str, Any]:
    """Per minute over the last ``minutes`` (the current one partly elapsed): each version's
    requests per second, 5xx rate and p99 (ms), the metrics CloudWatch would chart. A minute with
    no request has no 5xx rate or p99 (a gap), but 0 requests per second."""
    current = int(now // PERIOD_SECONDS) * PERIOD_SECONDS
    starts = [current - PERIOD_SECONDS * back for back in reversed(range(minutes))]
    versions = {}
    for name in names:
        points = {point.time: point for point in snapshot.series(name)}
        minute_points = [points.get(start) for start in starts]
        versions[name] = {
            "perSecond": [p.requests / max(1.0, min(PERIOD_SECONDS, now - p.time)) if p else 0.0
                          for p in minute_points],
            "rate5xx": [p.rate_5xx if p and p.requests > p.errors_4xx else None for p in minute_points],
            "p99Ms": [p.latency_p99_ms if p else None for p in minute_points]}
    return {"minutes": starts, "versions": versions}


def marks_view(run: RunState | None, since: float) -> list[dict[str, Any]]:
    """A recorded run's moves within the charts' span: each weight it set, and how it ended."""
    if run is None:
        return []
    marks = [{"time": at, "label": f"{run.version} {weight:g} %"} for at, weight in run.step_times if at >= since]
    if run.status is not RunStatus.RUNNING and run.updated_at >= since:
        marks.append({"time": run.updated_at, "label": f"{run.version} {run.status.value}"})
    return marks
