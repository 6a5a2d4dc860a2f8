"""The quality figures and the verdict of `canary compare`, as tables of cases (no I/O)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from core import quality as compare
from core.analysis import Verdict
from core.quality import Agreement, Answers, Comparison, QualityThresholds, Sample, VersionQuality

NAN = float("nan")


def sample(users, items, ratings=None) -> Sample:
    ratings = [NAN] * len(users) if ratings is None else ratings
    return Sample(np.array(users), np.array(items), np.array(ratings, float), "test")


ACCURACY = [
    # predictions, ratings (NaN: unknown), rated
    ([3.0, 4.0, 5.0], [4.0, 4.0, 3.0], 3),
    ([3.5, 2.0, 4.25, 1.0], [4.0, NAN, 5.0, 1.0], 3),
    ([1.0, 5.0], [5.0, 1.0], 2),
]


@pytest.mark.parametrize(("predictions", "ratings", "rated"), ACCURACY)
def test_rmse_and_mae_match_scikit_learn_over_the_rated_pairs(predictions, ratings, rated):
    quality = compare.version_quality(Answers(np.array(predictions), [2.0, 4.0]), np.array(ratings))
    known = ~np.isnan(ratings)
    truth, guess = np.array(ratings)[known], np.array(predictions)[known]
    assert quality.rated == rated
    assert quality.rmse == pytest.approx(math.sqrt(mean_squared_error(truth, guess)))
    assert quality.mae == pytest.approx(mean_absolute_error(truth, guess))
    assert quality.invocations == 2 and quality.latency_p50_ms == pytest.approx(3.0)


def test_without_known_ratings_there_is_no_rmse():
    quality = compare.version_quality(Answers(np.array([3.0, 4.0]), [1.0]), np.array([NAN, NAN]))
    assert (quality.rmse, quality.mae, quality.rated) == (None, None, 0)
    assert quality.fallback_share is None, "fallbacks unknown when the version's ids are not available"


FALLBACKS = [
    # users, items, known users, known items, expected mask
    ([1, 2, 3], [10, 11, 12], [1, 2, 3], [10, 11, 12], [False, False, False]),
    ([1, 9, 3], [10, 11, 99], [1, 2, 3], [10, 11, 12], [False, True, True]),
    ([9], [99], [1], [10], [True]),
]


@pytest.mark.parametrize(("users", "items", "known_users", "known_items", "expected"), FALLBACKS)
def test_a_fallback_is_an_answer_for_an_unseen_user_or_item(users, items, known_users, known_items, expected):
    mask = compare.fallback_mask(np.array(users), np.array(items), np.array(known_users), np.array(known_items))
    assert mask.tolist() == expected


TAUS = [
    # live, candidate per user group, expected taus (a group without an order to compare has none)
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1.0]),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [-1.0]),
    # one discordant pair out of ten: (9 - 1) / 10
    ([1, 2, 3, 4, 5], [1, 3, 2, 4, 5], [0.8]),
    ([1, 2, 3], [4, 4, 4], []),
    ([2], [3], []),
]


@pytest.mark.parametrize(("live", "candidate", "expected"), TAUS)
def test_rank_agreement_is_kendalls_tau_per_user(live, candidate, expected):
    rows = np.arange(len(live))
    taus = compare.rank_agreement([rows], np.array(live, float), np.array(candidate, float))
    assert taus == pytest.approx(expected)


def test_differences_are_candidate_minus_live_over_every_pair():
    data = sample([1, 1, 2, 2], [10, 11, 10, 11])
    live = np.array([3.0, 4.0, 2.0, 5.0])
    candidate = np.array([3.5, 3.0, 2.0, 5.0])
    agreed = compare.agreement(data, live, candidate)
    assert agreed.mean_difference == pytest.approx(-0.125)
    assert agreed.median_abs_difference == pytest.approx(0.25)
    assert agreed.max_abs_difference == pytest.approx(1.0)
    assert agreed.p95_abs_difference == pytest.approx(np.percentile([0.5, 1.0, 0.0, 0.0], 95))
    # user 1: order flips (tau -1); user 2: order kept (tau 1)
    assert (agreed.tau_median, agreed.users_ranked) == (pytest.approx(0.0), 2)


def test_user_groups_keep_each_users_items_together_in_order_of_appearance():
    data = sample([5, 3, 5, 3, 7], [1, 2, 3, 4, 5])
    assert [rows.tolist() for rows in data.user_groups()] == [[0, 2], [1, 3], [4]]


@pytest.mark.parametrize("pairs", [1, 7, 10, 23, 40])
def test_subsample_takes_whole_users_and_exactly_n_pairs(pairs):
    users = np.repeat(np.arange(1, 11), 4)
    data = sample(users.tolist(), list(range(40)), [3.0] * 40)
    picked = compare.subsample(data, pairs, seed=3)
    assert len(picked) == min(pairs, 40)
    counts = np.unique(picked.users, return_counts=True)[1]
    assert (counts == 4).sum() >= len(counts) - 1, "every user but the last one drawn keeps all their items"
    assert compare.subsample(data, pairs, seed=3).items.tolist() == picked.items.tolist(), "seeded"


def comparison(live_rmse, candidate_rmse, p95=0.2, tau=0.8, pairs=1000, rated=1000) -> Comparison:
    def quality(rmse):
        return VersionQuality(rmse, rmse, rated, 0.0, 1.0, 2.0, 1)

    agreed = Agreement(0.0, 0.1, p95, 1.0, tau, tau, 100)
    return Comparison("v1", "v2", quality(live_rmse), quality(candidate_rmse), agreed, pairs, 100, "test")


VERDICTS = [
    ("a slightly better candidate", comparison(0.92, 0.91), Verdict.PASS, "within every quality threshold"),
    # 0.75 and 0.765625 are exact binary fractions: the difference is the margin itself, 1/64
    ("worse by exactly the margin", comparison(0.75, 0.765625), Verdict.PASS, "within every quality threshold"),
    ("worse by more than the margin", comparison(0.92, 0.95), Verdict.FAIL,
     "worse than live's 0.9200 by 0.0300, more than 0.015625"),
    ("answers move too far", comparison(0.92, 0.92, p95=0.9), Verdict.FAIL, "move by up to 0.900 stars"),
    ("ranks reshuffled", comparison(0.92, 0.92, tau=0.3), Verdict.FAIL, "Kendall's tau) 0.300 is below 0.5"),
    ("too few pairs", comparison(0.92, 1.50, pairs=100, rated=100), Verdict.INCONCLUSIVE,
     "only 100 pairs compared, 500 needed"),
    ("questions without ratings", comparison(None, None, rated=0), Verdict.INCONCLUSIVE, "no known ratings"),
    ("too few known ratings", comparison(0.92, 0.92, rated=20), Verdict.INCONCLUSIVE,
     "only 20 pairs with a known rating"),
    ("disagreement fails even without ratings", comparison(None, None, p95=2.0, rated=0), Verdict.FAIL,
     "move by up to 2.000 stars"),
]


@pytest.mark.parametrize(("case", "found", "verdict", "reason"), VERDICTS, ids=[case[0] for case in VERDICTS])
def test_verdict(case, found, verdict, reason):
    result = compare.judge_quality(found, QualityThresholds(max_rmse_increase=1 / 64))
    assert result.verdict is verdict, result.reasons
    assert any(reason in line for line in result.reasons), result.reasons


def test_every_broken_bound_is_a_reason():
    result = compare.judge_quality(comparison(0.9, 1.2, p95=1.5, tau=0.1), QualityThresholds())
    assert result.verdict is Verdict.FAIL and len(result.reasons) == 3


def test_answers_must_cover_the_sample():
    data = sample([1, 2], [10, 11])
    with pytest.raises(ValueError, match="v2: 1 predictions for 2 pairs"):
        compare.compare(data, "v1", Answers(np.array([3.0, 3.0]), [1.0]), "v2", Answers(np.array([3.0]), [1.0]))
