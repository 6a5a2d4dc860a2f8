"""Candidate vs live over a window: 5xx rate, answered share, latency -> verdict.

4xx answers are the client's mistakes (the request template turns a malformed request into a
body the model refuses with 400), so they count against no version: rates and the sample size
are taken over the requests that were not refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from core import sequential
from core.metrics import NO_ANSWERS, Answers, MetricsSource, VariantStats
from core.thresholds import AnalysisThresholds

# A p99 needs about 100 samples to be more than the largest one: below that, one slow request
# on a loaded host decides it, so the latency rule waits for enough candidate requests.
P99_MIN_SAMPLES = 100
ANSWERS_COVER = 0.9
MAX_BAKE_FACTOR = 3.0  # the longest a stage cache can stretch the last bake
LOST = "requests lost (timeouts, a hang or crash?)"


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
    histogram = None
    if now.latency_histogram is not None:
        before = baseline.latency_histogram or {}
        histogram = {edge: count - before.get(edge, 0) for edge, count in now.latency_histogram.items()
                     if count > before.get(edge, 0)}
    answers = None if now.answers is None else now.answers - (baseline.answers or NO_ANSWERS)
    return VariantStats(max(now.requests - baseline.requests, 0), max(now.errors_4xx - baseline.errors_4xx, 0),
                        max(now.errors_5xx - baseline.errors_5xx, 0), now.latency_p99_ms, histogram, answers)


def judge(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
          share: float | None = None) -> Analysis:
    """Candidate against live over one window. ``share``: the fraction of requests the candidate's
    weight sends it (None where that is not a per-request share: sticky routing, a status read)."""
    live_counts, candidate_counts = _counts(live, candidate)
    checks = [_errors(live_counts, candidate_counts, thresholds, _lost(candidate, candidate_counts)),
              *_traffic(live, candidate, thresholds, share),
              _latency(live, candidate, thresholds)]
    reasons = [check.failure for check in checks if check.failed]
    judged = candidate_counts.judged
    requests = Check("requests", str(live_counts.judged), str(judged),
                     f"at least {thresholds.min_requests} candidate requests")
    checks.append(requests)
    if reasons:
        return Analysis(Verdict.FAIL, reasons, live, candidate, checks)
    if judged < thresholds.min_requests:
        return Analysis(Verdict.INCONCLUSIVE, [f"only {judged} candidate requests, "
                                               f"{thresholds.min_requests} needed"], live, candidate, checks)
    return Analysis(Verdict.PASS, ["candidate within every threshold"], live, candidate, checks)


def _counts(live: VariantStats, candidate: VariantStats) -> tuple[Answers, Answers]:
    """What the error test counts for each version: the gateway's answers where the source has them
    for both (a request that timed out or was throttled before the model answered is an error of
    the version it was sent to), else the model's own invocations."""
    if _answers_complete(live) and _answers_complete(candidate):
        assert live.answers is not None and candidate.answers is not None, "complete answers are there"
        return live.answers.asked(), candidate.answers.asked()
    return (Answers(live.requests, live.errors_4xx, live.errors_5xx),
            Answers(candidate.requests, candidate.errors_4xx, candidate.errors_5xx))


def bake_factor(live: VariantStats) -> float:
    """How much longer a bake must run for the 5xx test to see as many of live's own answers as it
    would without the stage cache: 1 / (the share of live's requests its model answered), at most
    ``MAX_BAKE_FACTOR``; 1 without cached answers (or where the gateway's answers are not counted).
    With 3/4 of live's answers cached, a 10-minute bake leaves the test a quarter of live's
    evidence (bench/bench_judge.py: 0.5 -> 2 % errors caught in 81 % of runs; with the last bake
    stretched to 30 minutes, in 99 %)."""
    asked = 1.0 - cached_share(live)
    return MAX_BAKE_FACTOR if asked <= 1.0 / MAX_BAKE_FACTOR else 1.0 / asked


def cached_share(live: VariantStats) -> float:
    """The share of live's requests the stage cache answered (0 where the gateway's answers are
    not counted, or cover too little of what the model answered to stand for live)."""
    answers = live.answers
    if answers is None or not answers.requests or not _answers_complete(live):
        return 0.0
    return answers.cached / answers.requests


def _sent(live: VariantStats) -> int:
    """What live was sent, for the traffic check: the API's answers where they are counted (the
    stage cache's included, which its model never saw), else its model's own count."""
    return live.answers.judged if _answers_complete(live) and live.answers is not None else live.judged


def _answers_complete(stats: VariantStats) -> bool:
    """Whether the gateway's count can stand for the version: there, and not well short of what
    the model itself answered (a sticky canary's requests, which an access log cannot tell apart;
    a request in flight at the window's edge is counted by the model a moment before the gateway)."""
    return stats.answers is not None and stats.answers.requests >= ANSWERS_COVER * stats.requests


def _rate(counts: Answers) -> str:
    timeouts = f", {counts.timeouts} gateway timeouts" if counts.timeouts else ""
    return f"{counts.rate_5xx:.2%} ({counts.errors_5xx} of {counts.judged}{timeouts})"


def _lost(candidate: VariantStats, counted: Answers) -> str:
    """What a failure on the gateway's timeouts also says: how many of the requests sent to the
    candidate its model answered (the traffic check may not have enough evidence yet)."""
    if not counted.timeouts:
        return ""
    return f"{LOST}: its model answered {candidate.judged} of the {counted.judged} sent to it; "


def _errors(live: Answers, candidate: Answers, thresholds: AnalysisThresholds, lost: str = "") -> Check:
    """A sequential test of the candidate's 5xx rate against live's, with the tolerance
    ``max_error_ratio``: one early error never fails a candidate, however often the run looks."""
    live_rate, candidate_rate = _rate(live), _rate(candidate)
    check = Check("5xx rate", live_rate, candidate_rate,
                  f"at most {thresholds.max_error_ratio:g}x live's, or under {thresholds.min_error_rate:.2%}")
    if candidate.rate_5xx < thresholds.min_error_rate:
        return replace(check, evidence="under the floor: not tested")
    evidence = sequential.errors_worse(live.judged, live.errors_5xx, candidate.judged, candidate.errors_5xx,
                                       thresholds.max_error_ratio, thresholds.alpha)
    failure = (f"candidate 5xx rate {candidate_rate} is over {thresholds.max_error_ratio:g}x live's {live_rate}; "
               f"{lost}{evidence.describe()}") if evidence.rejected else ""
    return replace(check, evidence=evidence.describe(), failure=failure)


def _traffic(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
             share: float | None) -> list[Check]:
    """A sample-ratio check: a candidate that hangs or crashes answers less than its weight sends it."""
    if share is None:
        return []
    live_judged = _sent(live)
    total = live_judged + candidate.judged
    evidence = sequential.traffic_short(live_judged, candidate.judged, share, 1.0 - thresholds.min_traffic_share,
                                        thresholds.alpha)
    answered = candidate.judged / max(total, 1)
    timeouts = candidate.answers.timeouts if candidate.answers is not None else 0
    timed_out = f" ({timeouts} gateway timeouts)" if timeouts else ""
    failure = (f"candidate answered {candidate.judged} of {total} requests ({answered:.1%}) where its weight sends "
               f"it {share:.1%}: {LOST}{timed_out}; {evidence.describe()}"
               ) if evidence.rejected else ""
    return [Check("answered share", f"{live_judged / max(total, 1):.1%} ({live_judged} of {total})",
                  f"{answered:.1%} ({candidate.judged} of {total})",
                  f"at least {thresholds.min_traffic_share:.0%} of the {share:.1%} its weight sends it",
                  evidence.describe(), failure)]


def _latency(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> Check:
    if live.latency_histogram and candidate.latency_histogram is not None:
        return _slow_requests(live.latency_histogram, candidate.latency_histogram, thresholds)
    return _p99_ratio(live, candidate, thresholds)


def _slow_requests(live: Mapping[float, int], candidate: Mapping[float, int], thresholds: AnalysisThresholds) -> Check:
    """Where both versions' latency histograms are known: the share of requests slower than live's
    p95 (and the floor), candidate against live, by the same sequential test as errors. As good as
    live, the candidate has as many such requests as live (5 %); slower, it has many more."""
    edge = max(_percentile_edge(live, 95.0), thresholds.latency_floor_ms * 1000)
    live_n, cand_n = sum(live.values()), sum(candidate.values())
    live_slow = sum(count for at, count in live.items() if at > edge)
    cand_slow = sum(count for at, count in candidate.items() if at > edge)
    evidence = sequential.errors_worse(live_n, live_slow, cand_n, cand_slow, thresholds.max_slow_ratio,
                                       thresholds.alpha)
    live_share, cand_share = live_slow / max(live_n, 1), cand_slow / max(cand_n, 1)
    failure = (f"candidate slower: {cand_share:.1%} of its requests ({cand_slow} of {cand_n}) over "
               f"{edge / 1000:.1f} ms against live's {live_share:.1%} ({live_slow} of {live_n}); "
               f"{evidence.describe()}") if evidence.rejected else ""
    return Check(f"requests over {edge / 1000:.1f} ms", f"{live_share:.1%} ({live_slow} of {live_n})",
                 f"{cand_share:.1%} ({cand_slow} of {cand_n})",
                 f"at most {thresholds.max_slow_ratio:g}x live's share (live's p95, at least "
                 f"{thresholds.latency_floor_ms:g} ms)", evidence.describe(), failure)


def _percentile_edge(histogram: Mapping[float, int], percent: float) -> float:
    """The lower edge of the bucket holding the ``percent``-th percentile."""
    total, seen = sum(histogram.values()), 0
    for edge, count in sorted(histogram.items()):
        seen += count
        if seen >= total * percent / 100:
            return edge
    return max(histogram, default=0.0)


def _p99_ratio(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds) -> Check:
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
