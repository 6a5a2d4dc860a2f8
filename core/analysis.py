"""Candidate vs live over a window: requests, 5xx rate, model latency p99 -> verdict.

4xx answers are the client's mistakes (the request template turns a malformed request into a
body the model refuses with 400), so they count against no version: rates and the sample size
are taken over the requests that were not refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

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
class Check:
    """One metric of a verdict: both versions' values, the threshold, and for the sequential tests
    the evidence (likelihood ratio) against its bound: what a reviewer needs to agree or not."""

    metric: str
    live: str
    candidate: str
    threshold: str
    evidence: str = ""
    failure: str = ""  # the verdict's reason when this check failed the candidate

    @property
    def failed(self) -> bool:
        return bool(self.failure)

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "live": self.live, "candidate": self.candidate, "threshold": self.threshold,
                "evidence": self.evidence, "failed": self.failed, "failure": self.failure}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        return cls(str(data["metric"]), str(data["live"]), str(data["candidate"]), str(data["threshold"]),
                   str(data.get("evidence", "")), str(data.get("failure", "")))


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    reasons: list[str]
    live: VariantStats
    candidate: VariantStats
    checks: list[Check] = field(default_factory=list)


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
    checks = [_errors(live, candidate, thresholds), *_traffic(live, candidate, thresholds, share),
              _latency(live, candidate, thresholds)]
    reasons = [check.failure for check in checks if check.failed]
    requests = Check("requests", str(live.judged), str(candidate.judged),
                     f"at least {thresholds.min_requests} candidate requests")
    checks.append(requests)
    if reasons:
        return Analysis(Verdict.FAIL, reasons, live, candidate, checks)
    if candidate.judged < thresholds.min_requests:
        return Analysis(Verdict.INCONCLUSIVE, [f"only {candidate.judged} candidate requests, "
                                               f"{thresholds.min_requests} needed"], live, candidate, checks)
    return Analysis(Verdict.PASS, ["candidate within every threshold"], live, candidate, checks)


def _errors(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> Check:
    """A sequential test of the candidate's 5xx rate against live's, with the tolerance
    ``max_error_ratio``: one early error never fails a candidate, however often the run looks."""
    live_rate = f"{live.rate_5xx:.2%} ({live.errors_5xx} of {live.judged})"
    candidate_rate = f"{candidate.rate_5xx:.2%} ({candidate.errors_5xx} of {candidate.judged})"
    check = Check("5xx rate", live_rate, candidate_rate,
                  f"at most {thresholds.max_error_ratio:g}x live's, or under {thresholds.min_error_rate:.2%}")
    if candidate.rate_5xx < thresholds.min_error_rate:
        return replace(check, evidence="under the floor: not tested")
    evidence = sequential.errors_worse(live.judged, live.errors_5xx, candidate.judged, candidate.errors_5xx,
                                       thresholds.max_error_ratio, thresholds.alpha)
    failure = (f"candidate 5xx rate {candidate_rate} is over {thresholds.max_error_ratio:g}x live's {live_rate}; "
               f"{evidence.describe()}") if evidence.rejected else ""
    return replace(check, evidence=evidence.describe(), failure=failure)


def _traffic(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
             share: float | None) -> list[Check]:
    """A sample-ratio check: a candidate that hangs or crashes answers less than its weight sends it."""
    if share is None:
        return []
    total = live.judged + candidate.judged
    evidence = sequential.traffic_short(live.judged, candidate.judged, share, 1.0 - thresholds.min_traffic_share,
                                        thresholds.alpha)
    answered = candidate.judged / max(total, 1)
    failure = (f"candidate answered {candidate.judged} of {total} requests ({answered:.1%}) where its weight sends "
               f"it {share:.1%}: requests lost (timeouts, a hang or crash?); {evidence.describe()}"
               ) if evidence.rejected else ""
    return [Check("answered share", f"{live.judged / max(total, 1):.1%} ({live.judged} of {total})",
                  f"{answered:.1%} ({candidate.judged} of {total})",
                  f"at least {thresholds.min_traffic_share:.0%} of the {share:.1%} its weight sends it",
                  evidence.describe(), failure)]


def _latency(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> Check:
    failed = (candidate.judged >= P99_MIN_SAMPLES and candidate.latency_p99_ms is not None
              and live.latency_p99_ms is not None and candidate.latency_p99_ms > thresholds.latency_floor_ms
              and candidate.latency_p99_ms > live.latency_p99_ms * thresholds.max_latency_ratio)
    failure = (f"candidate p99 {_ms(candidate.latency_p99_ms)} ms is over {thresholds.max_latency_ratio:g}x live's "
               f"{_ms(live.latency_p99_ms)} ms") if failed else ""
    return Check("p99 ms", _ms(live.latency_p99_ms), _ms(candidate.latency_p99_ms),
                 f"at most {thresholds.max_latency_ratio:g}x live's once over {thresholds.latency_floor_ms:g} ms, "
                 f"on {P99_MIN_SAMPLES}+ requests", failure=failure)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def analyse(source: MetricsSource, endpoint: str, live: str, candidate: str, window_seconds: float,
            thresholds: AnalysisThresholds) -> Analysis:
    return judge(source.variant_stats(endpoint, live, window_seconds),
                 source.variant_stats(endpoint, candidate, window_seconds), thresholds)
