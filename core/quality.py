"""Candidate vs live on the same questions: accuracy against known ratings, how far the answers
move, whether each user's items keep their order, how often a version falls back, latency.

Error rates and latency say whether a version answers; these say whether it answers well. Both
versions are asked the same (user, items) groups, so every figure is paired. Pure: numbers in,
figures and a verdict out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.analysis import Verdict
from core.thresholds import QualityThresholds

MSG_TOO_FEW = "only {count} pairs compared, {needed} needed"
MSG_TOO_FEW_RATED = "only {count} pairs with a known rating, {needed} needed"
MSG_NOTHING_RATED = "no known ratings in the sample: RMSE cannot be compared"
MSG_RMSE = "candidate RMSE {candidate:.4f} is worse than live's {live:.4f} by {worse:.4f}, more than {margin:g}"
MSG_DIFFERENCE = "95 % of predictions move by up to {p95:.3f} stars, more than {bound:g}"
MSG_RANKS = "median rank agreement per user (Kendall's tau) {tau:.3f} is below {bound:g}"
MSG_PASS = "candidate within every quality threshold"


@dataclass(frozen=True)
class Sample:
    """(user, item) pairs to ask both versions; ``ratings`` holds NaN where no rating is known."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.users)

    def user_groups(self) -> list[np.ndarray]:
        """Row indexes per user, users in order of first appearance: the items asked together."""
        order = np.argsort(self.users, kind="stable")
        bounds = np.flatnonzero(np.diff(self.users[order])) + 1
        groups = np.split(order, bounds) if len(order) else []
        return sorted(groups, key=lambda rows: rows[0])

    def subset(self, rows: np.ndarray, source: str | None = None) -> Sample:
        return Sample(self.users[rows], self.items[rows], self.ratings[rows], source or self.source)


def subsample(sample: Sample, pairs: int, seed: int = 0) -> Sample:
    """About ``pairs`` pairs made of whole users drawn at random (seeded), so that each user's items
    are still asked together; the last user drawn is cut to hit ``pairs`` exactly."""
    if pairs >= len(sample):
        return sample
    groups = sample.user_groups()
    chosen, total = [], 0
    for index in np.random.default_rng(seed).permutation(len(groups)):
        rows = groups[index][: pairs - total]
        chosen.append(rows)
        total += len(rows)
        if total >= pairs:
            break
    rows = np.sort(np.concatenate(chosen))
    return sample.subset(rows, f"{sample.source}, {pairs:,} pairs drawn by user (seed {seed})")


@dataclass(frozen=True)
class Answers:
    """What one version answered: a prediction per pair, the time of each invocation, and which
    answers were fallbacks (None when the version's known ids are not available)."""

    predictions: np.ndarray
    latencies_ms: list[float]
    fallback: np.ndarray | None = None


def fallback_mask(users: np.ndarray, items: np.ndarray, known_users: np.ndarray,
                  known_items: np.ndarray) -> np.ndarray:
    """True where the model never saw the user or the item in training, so it answered with a
    fallback (training.inference.FALLBACKS): the served answer does not say so itself."""
    return ~np.isin(users, known_users) | ~np.isin(items, known_items)


@dataclass(frozen=True)
class VersionQuality:
    rmse: float | None
    mae: float | None
    rated: int
    fallback_share: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    invocations: int


@dataclass(frozen=True)
class Agreement:
    """How the candidate's answers differ from live's (candidate minus live)."""

    mean_difference: float
    median_abs_difference: float
    p95_abs_difference: float
    max_abs_difference: float
    tau_median: float | None  # Kendall's tau per user over the items asked together
    tau_mean: float | None
    users_ranked: int  # users with two or more items whose order both versions could rank


@dataclass(frozen=True)
class Comparison:
    live_version: str
    candidate_version: str
    live: VersionQuality
    candidate: VersionQuality
    agreement: Agreement
    pairs: int
    users: int
    source: str


def _percentile(values: list[float] | np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def version_quality(answers: Answers, ratings: np.ndarray) -> VersionQuality:
    rated = ~np.isnan(ratings)
    errors = answers.predictions[rated] - ratings[rated]
    count = int(rated.sum())
    return VersionQuality(
        rmse=float(np.sqrt(np.mean(errors ** 2))) if count else None,
        mae=float(np.mean(np.abs(errors))) if count else None,
        rated=count,
        fallback_share=float(answers.fallback.mean()) if answers.fallback is not None and len(answers.fallback)
        else None,
        latency_p50_ms=_percentile(answers.latencies_ms, 50), latency_p99_ms=_percentile(answers.latencies_ms, 99),
        invocations=len(answers.latencies_ms))


def rank_agreement(groups: list[np.ndarray], live: np.ndarray, candidate: np.ndarray) -> list[float]:
    """Kendall's tau-b between the two versions' scores of each user's items. A user with one item,
    or whose items one version scores all alike (no order to compare), has no tau."""
    from scipy.stats import kendalltau  # seconds to import: only when comparing

    taus = []
    for rows in groups:
        if len(rows) < 2 or np.ptp(live[rows]) == 0 or np.ptp(candidate[rows]) == 0:
            continue
        tau = kendalltau(live[rows], candidate[rows]).statistic
        if not math.isnan(tau):
            taus.append(float(tau))
    return taus


def agreement(sample: Sample, live: np.ndarray, candidate: np.ndarray) -> Agreement:
    difference = candidate - live
    absolute = np.abs(difference)
    taus = rank_agreement(sample.user_groups(), live, candidate)
    return Agreement(
        mean_difference=float(difference.mean()), median_abs_difference=float(np.median(absolute)),
        p95_abs_difference=float(np.percentile(absolute, 95)), max_abs_difference=float(absolute.max()),
        tau_median=_percentile(taus, 50), tau_mean=float(np.mean(taus)) if taus else None, users_ranked=len(taus))


def compare(sample: Sample, live_version: str, live: Answers, candidate_version: str,
            candidate: Answers) -> Comparison:
    for name, answers in ((live_version, live), (candidate_version, candidate)):
        if len(answers.predictions) != len(sample):
            raise ValueError(f"{name}: {len(answers.predictions)} predictions for {len(sample)} pairs")
    return Comparison(live_version, candidate_version, version_quality(live, sample.ratings),
                      version_quality(candidate, sample.ratings),
                      agreement(sample, live.predictions, candidate.predictions), len(sample),
                      len(np.unique(sample.users)), sample.source)


@dataclass(frozen=True)
class QualityVerdict:
    verdict: Verdict
    reasons: list[str]
    comparison: Comparison


def judge_quality(comparison: Comparison, thresholds: QualityThresholds) -> QualityVerdict:
    """Too small a sample says nothing either way; otherwise every broken bound is a reason to fail.

    RMSE needs known ratings: pairs without any (a ``--pairs`` file of questions only) can still
    fail on disagreement, but cannot pass."""
    live, candidate, agreed = comparison.live, comparison.candidate, comparison.agreement
    if comparison.pairs < thresholds.min_pairs:
        return QualityVerdict(Verdict.INCONCLUSIVE, [MSG_TOO_FEW.format(count=comparison.pairs,
                                                                        needed=thresholds.min_pairs)], comparison)
    reasons = []
    if live.rmse is not None and candidate.rmse is not None:
        worse = candidate.rmse - live.rmse
        if worse > thresholds.max_rmse_increase:
            reasons.append(MSG_RMSE.format(candidate=candidate.rmse, live=live.rmse, worse=worse,
                                           margin=thresholds.max_rmse_increase))
    if agreed.p95_abs_difference > thresholds.max_p95_difference:
        reasons.append(MSG_DIFFERENCE.format(p95=agreed.p95_abs_difference, bound=thresholds.max_p95_difference))
    if agreed.tau_median is not None and agreed.tau_median < thresholds.min_rank_agreement:
        reasons.append(MSG_RANKS.format(tau=agreed.tau_median, bound=thresholds.min_rank_agreement))
    if reasons:
        return QualityVerdict(Verdict.FAIL, reasons, comparison)
    if candidate.rated < thresholds.min_pairs:
        reason = MSG_NOTHING_RATED if candidate.rated == 0 else MSG_TOO_FEW_RATED.format(
            count=candidate.rated, needed=thresholds.min_pairs)
        return QualityVerdict(Verdict.INCONCLUSIVE, [reason], comparison)
    return QualityVerdict(Verdict.PASS, [MSG_PASS], comparison)
