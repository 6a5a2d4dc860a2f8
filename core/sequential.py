"""Always-valid tests on a canary's counts: evidence that stays honest however often it is read.

A run looks at its candidate every few seconds. A fixed threshold read that often fails a healthy
candidate sooner or later (one early error among 60 requests is 1.7 %). These tests accumulate
evidence as a likelihood ratio mixed over the alternatives: a nonnegative supermartingale while
the null hypothesis holds, so by Ville's inequality the chance it ever reaches 1/alpha, at any of
any number of looks, is at most alpha (Lindon et al., "Rapid Regression Detection in Software
Deployments through Sequential Testing", KDD 2022; Johari et al., "Always Valid Inference",
the basis of Optimizely's stats engine).

Both tests condition on a total and test a binomial share, which removes the unknown base rate:

- errors, candidate against live: given the errors both versions made, the candidate's share of
  them is binomial with ``theta = k * n_c / (k * n_c + n_l)``, ``k`` the ratio of the two error
  rates. Null: ``k`` is at most the tolerance; alternatives: larger ratios.
- traffic (sample ratio): given the answers both versions gave, the candidate's share is binomial
  with the share its weight promises. Null: it gets at least ``1 - tolerance`` of that; the
  alternatives: less. A candidate that hangs or crashes answers less than its weight promises
  (Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019).

For a binomial, a mixture of alternatives on one side of the null value is a supermartingale
under every value on the other side too, so the one-sided nulls keep the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# alternatives, as multiples of the null value; equal prior weight on each
WORSE_RATIOS = (1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
SHORT_SHARES = (0.9, 0.75, 0.5, 0.25, 0.1, 0.01)


@dataclass(frozen=True)
class Evidence:
    """A test's statistic against its bound, both as natural logarithms of likelihood ratios."""

    log_ratio: float
    log_bound: float

    @property
    def rejected(self) -> bool:
        return self.log_ratio >= self.log_bound

    def describe(self) -> str:
        """``evidence 12.3 of 100 needed`` (a likelihood ratio against its bound)."""
        return f"evidence {_shown(self.log_ratio)} of {_shown(self.log_bound)} needed"


def bound(alpha: float) -> float:
    """The log bound whose crossing has chance at most ``alpha`` under the null, at any look."""
    return math.log(1.0 / alpha)


def errors_worse(live_requests: int, live_errors: int, candidate_requests: int, candidate_errors: int,
                 tolerance: float, alpha: float) -> Evidence:
    """Evidence that the candidate's error rate exceeds ``tolerance`` times live's."""
    if candidate_errors <= 0 or candidate_requests <= 0 or live_requests <= 0:
        return Evidence(0.0, bound(alpha))

    def share(ratio: float) -> float:
        return ratio * candidate_requests / (ratio * candidate_requests + live_requests)

    alternatives = [share(tolerance * ratio) for ratio in WORSE_RATIOS]
    return Evidence(_mixture(candidate_errors, live_errors, share(tolerance), alternatives), bound(alpha))


def traffic_short(live_answers: int, candidate_answers: int, share: float, tolerance: float,
                  alpha: float) -> Evidence:
    """Evidence that the candidate answers less than ``1 - tolerance`` of the ``share`` it is sent."""
    expected = share * (1.0 - tolerance)
    if not 0.0 < expected < 1.0 or live_answers + candidate_answers <= 0:
        return Evidence(0.0, bound(alpha))
    alternatives = [expected * fraction for fraction in SHORT_SHARES]
    return Evidence(_mixture(candidate_answers, live_answers, expected, alternatives), bound(alpha))


def _mixture(successes: int, failures: int, null: float, alternatives: list[float]) -> float:
    """Log of the mean binomial likelihood ratio of ``alternatives`` against ``null``."""
    logs = [successes * math.log(p / null) + failures * math.log((1.0 - p) / (1.0 - null)) for p in alternatives]
    top = max(logs)
    return top + math.log(sum(math.exp(value - top) for value in logs) / len(logs))


def _shown(log_value: float) -> str:
    value = math.exp(min(log_value, 700.0))
    if value < 0.01:
        return "<0.01"
    if value < 1000:
        return f"{value:.3g}"
    return f"{value:,.0f}" if value < 1e6 else f"{value:.1e}"
