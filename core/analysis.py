"""Candidate vs live over a window: requests, 5xx rate, model latency p99 -> verdict.

4xx answers are the client's mistakes (the request template turns a malformed request into a
body the model refuses with 400), so they count against no version: rates and the sample size
are taken over the requests that were not refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core import sequential
from core.metrics import MetricsSource, VariantStats
from core.thresholds import AnalysisThresholds

# A p99 needs about 100 samples to be more than the largest one: below that, one slow request
# on a loaded host decides it, so the latency rule waits for enough candidate requests.
P99_MIN_SAMPLES = 100


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    reasons: list[str]
    live: VariantStats
    candidate: VariantStats


def since(now: VariantStats, baseline: VariantStats | None) -> VariantStats:
    """The requests counted after ``baseline`` was read.

    Metrics come in whole minutes, so a window starting when a step set its weight still holds
    what that minute counted before (another version's run, a previous step); the counts read at
    the step's start are taken off. A p99 cannot be taken apart: it stays the window's."""
    if baseline is None:
        return now
    return VariantStats(max(now.requests - baseline.requests, 0), max(now.errors_4xx - baseline.errors_4xx, 0),
                        max(now.errors_5xx - baseline.errors_5xx, 0), now.latency_p99_ms)


def judge(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
          share: float | None = None) -> Analysis:
    """Candidate against live over one window. ``share``: the fraction of requests the candidate's
    weight sends it (None where that is not a per-request share: sticky routing, a status read)."""
    reasons = [*_errors(live, candidate, thresholds), *_traffic(live, candidate, thresholds, share),
               *_latency(live, candidate, thresholds)]
    if reasons:
        return Analysis(Verdict.FAIL, reasons, live, candidate)
    if candidate.judged < thresholds.min_requests:
        return Analysis(Verdict.INCONCLUSIVE, [f"only {candidate.judged} candidate requests, "
                                               f"{thresholds.min_requests} needed"], live, candidate)
    return Analysis(Verdict.PASS, ["candidate within every threshold"], live, candidate)


def _errors(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> list[str]:
    """A sequential test of the candidate's 5xx rate against live's, with the tolerance
    ``max_error_ratio``: one early error never fails a candidate, however often the run looks."""
    if candidate.rate_5xx < thresholds.min_error_rate:
        return []
    evidence = sequential.errors_worse(live.judged, live.errors_5xx, candidate.judged, candidate.errors_5xx,
                                       thresholds.max_error_ratio, thresholds.alpha)
    if not evidence.rejected:
        return []
    return [f"candidate 5xx rate {candidate.rate_5xx:.2%} ({candidate.errors_5xx} of {candidate.judged}) is over "
            f"{thresholds.max_error_ratio:g}x live's {live.rate_5xx:.2%} ({live.errors_5xx} of {live.judged}); "
            f"{evidence.describe()}"]


def _traffic(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
             share: float | None) -> list[str]:
    """A sample-ratio check: a candidate that hangs or crashes answers less than its weight sends it."""
    if share is None:
        return []
    evidence = sequential.traffic_short(live.judged, candidate.judged, share, 1.0 - thresholds.min_traffic_share,
                                        thresholds.alpha)
    if not evidence.rejected:
        return []
    answered = candidate.judged / max(live.judged + candidate.judged, 1)
    return [f"candidate answered {candidate.judged} of {live.judged + candidate.judged} requests ({answered:.1%}) "
            f"where its weight sends it {share:.1%}: requests lost (timeouts, a hang or crash?); "
            f"{evidence.describe()}"]


def _latency(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> list[str]:
    if (candidate.judged >= P99_MIN_SAMPLES and candidate.latency_p99_ms is not None
            and live.latency_p99_ms is not None and candidate.latency_p99_ms > thresholds.latency_floor_ms
            and candidate.latency_p99_ms > live.latency_p99_ms * thresholds.max_latency_ratio):
        return [f"candidate p99 {candidate.latency_p99_ms:.1f} ms is over "
                f"{thresholds.max_latency_ratio:g}x live's {live.latency_p99_ms:.1f} ms"]
    return []


def analyse(source: MetricsSource, endpoint: str, live: str, candidate: str, window_seconds: float,
            thresholds: AnalysisThresholds) -> Analysis:
    return judge(source.variant_stats(endpoint, live, window_seconds),
                 source.variant_stats(endpoint, candidate, window_seconds), thresholds)
