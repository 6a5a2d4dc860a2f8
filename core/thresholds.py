"""When a candidate passes, fails or is inconclusive: the stack's ``routing.analysis`` settings.

Kept apart from the judges that apply them (``core.analysis`` for traffic, ``core.quality`` for
predictions) so that reading a stack config never imports the numerical libraries the quality
judge needs. Command-line flags override each value for one command.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class AnalysisThresholds:
    """Candidate vs live on the traffic it served (``routing.analysis``)."""

    min_requests: int = 100  # fewer candidate requests than this: inconclusive
    max_error_ratio: float = 1.5  # candidate 5xx rate may be this many times live's ...
    min_error_rate: float = 0.001  # ... and a candidate under this 5xx rate is never failed for errors
    min_traffic_share: float = 0.8  # the candidate must answer at least this much of its weight's share
    alpha: float = 0.01  # at most this chance per step of failing a candidate as good as live
    max_slow_ratio: float = 2.0  # candidate's share of requests over live's p95 may be this many times live's
    max_latency_ratio: float = 1.5  # without histograms (CloudWatch): candidate p99 may be this many times live's ...
    # ... unless it stays under this: below ~20 ms, p99 differences between two model servers on
    # one host are scheduling noise (measured 5 vs 8 ms for identical models under load)
    latency_floor_ms: float = 20.0


@dataclass(frozen=True)
class QualityThresholds:
    """Candidate vs live on the same questions (``routing.analysis.quality``; present, it makes
    promotions and runs compare predictions)."""

    max_rmse_increase: float = 0.02  # stars of RMSE the candidate may lose against live
    max_p95_difference: float = 0.75  # stars: 95 % of answers may move by at most this much
    min_rank_agreement: float = 0.5  # median Kendall's tau per user, live vs candidate
    min_pairs: int = 500  # fewer (rated) pairs than this: inconclusive


# stack-file key -> (field, number type, lowest, highest) of each thresholds dataclass
ANALYSIS_KEYS: dict[str, tuple[str, type, float, float]] = {
    "minRequests": ("min_requests", int, 1, 1_000_000_000),
    "maxErrorRatio": ("max_error_ratio", float, 1.0, 1000.0),
    "minErrorRate": ("min_error_rate", float, 0.0, 1.0),
    "minTrafficShare": ("min_traffic_share", float, 0.0, 1.0),
    "alpha": ("alpha", float, 1e-9, 0.5),
    "maxSlowRatio": ("max_slow_ratio", float, 1.0, 1000.0),
    "maxLatencyRatio": ("max_latency_ratio", float, 1.0, 1000.0),
    "latencyFloorMs": ("latency_floor_ms", float, 0.0, 600_000.0),
}
QUALITY_KEYS: dict[str, tuple[str, type, float, float]] = {
    "maxRmseIncrease": ("max_rmse_increase", float, 0.0, 4.0),
    "maxP95Difference": ("max_p95_difference", float, 0.0, 4.0),
    "minRankAgreement": ("min_rank_agreement", float, -1.0, 1.0),
    "minPairs": ("min_pairs", int, 1, 1_000_000_000),
}


def with_overrides(base: T, flags: dict[str, Any]) -> T:
    """``base`` with the flags a command was given (None: not given)."""
    return replace(base, **{name: value for name, value in flags.items() if value is not None})  # type: ignore[type-var]


def to_json(thresholds: AnalysisThresholds | QualityThresholds) -> dict[str, Any]:
    return {spec.name: getattr(thresholds, spec.name) for spec in fields(thresholds)}
