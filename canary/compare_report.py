"""What `canary compare` prints: a side-by-side table for people, a JSON document for scripts, and
a scatter plot of live vs candidate predictions (written atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.quality import QualityVerdict, VersionQuality
from core.thresholds import QualityThresholds


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _row(label: str, live: str, candidate: str) -> str:
    return f"{label:<24}{live:>12}{candidate:>12}"


def table(result: QualityVerdict) -> str:
    c = result.comparison
    live, candidate, agreed = c.live, c.candidate, c.agreement

    def both(field: str, form: str) -> tuple[str, str]:
        return _number(getattr(live, field), form), _number(getattr(candidate, field), form)

    lines = [f"{c.pairs:,} pairs of {c.users:,} users: {c.source}",
             _row("", f"live {c.live_version}", f"cand. {c.candidate_version}"), "-" * 48,
             _row("RMSE", *both("rmse", ".4f")), _row("MAE", *both("mae", ".4f")),
             _row("rated pairs", str(live.rated), str(candidate.rated)),
             _row("fallback answers", _share(live.fallback_share), _share(candidate.fallback_share)),
             _row("latency p50 (ms)", *both("latency_p50_ms", ".1f")),
             _row("latency p99 (ms)", *both("latency_p99_ms", ".1f")),
             _row("invocations", str(live.invocations), str(candidate.invocations)),
             "",
             f"candidate - live: mean {agreed.mean_difference:+.3f}, |difference| median "
             f"{agreed.median_abs_difference:.3f}, p95 {agreed.p95_abs_difference:.3f}, "
             f"max {agreed.max_abs_difference:.3f} stars",
             f"rank agreement per user (Kendall's tau, {agreed.users_ranked:,} users): median "
             f"{_number(agreed.tau_median, '.3f')}, mean {_number(agreed.tau_mean, '.3f')}",
             f"verdict: {result.verdict.value} ({'; '.join(result.reasons)})"]
    return "\n".join(lines)


def _version_json(name: str, quality: VersionQuality) -> dict:
    return {"version": name, "rmse": quality.rmse, "mae": quality.mae, "ratedPairs": quality.rated,
            "fallbackShare": quality.fallback_share, "latencyP50Ms": quality.latency_p50_ms,
            "latencyP99Ms": quality.latency_p99_ms, "invocations": quality.invocations}


def as_json(result: QualityVerdict, thresholds: QualityThresholds) -> dict:
    c = result.comparison
    agreed = c.agreement
    return {
        "verdict": result.verdict.value, "reasons": list(result.reasons),
        "sample": {"pairs": c.pairs, "users": c.users, "source": c.source},
        "live": _version_json(c.live_version, c.live), "candidate": _version_json(c.candidate_version, c.candidate),
        "difference": {"mean": agreed.mean_difference, "medianAbs": agreed.median_abs_difference,
                       "p95Abs": agreed.p95_abs_difference, "maxAbs": agreed.max_abs_difference},
        "rankAgreement": {"tauMedian": agreed.tau_median, "tauMean": agreed.tau_mean, "users": agreed.users_ranked},
        "thresholds": {"maxRmseIncrease": thresholds.max_rmse_increase,
                       "maxP95Difference": thresholds.max_p95_difference,
                       "minRankAgreement": thresholds.min_rank_agreement, "minPairs": thresholds.min_pairs},
    }


def plot(result: QualityVerdict, live: np.ndarray, candidate: np.ndarray, path: Path) -> None:
    """Each pair as a point (live's prediction, candidate's); the diagonal is full agreement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = result.comparison
    figure, axis = plt.subplots(figsize=(5.5, 5.5), dpi=110)
    axis.scatter(live, candidate, s=4, alpha=0.25, linewidths=0)
    axis.plot([1, 5], [1, 5], color="black", linewidth=1, linestyle="--", label="same prediction")
    axis.set_xlim(0.9, 5.1)
    axis.set_ylim(0.9, 5.1)
    axis.set_xlabel(f"live {c.live_version} (RMSE {_number(c.live.rmse, '.4f')})")
    axis.set_ylabel(f"candidate {c.candidate_version} (RMSE {_number(c.candidate.rmse, '.4f')})")
    axis.set_title(f"{c.pairs:,} pairs: {result.verdict.value}, p95 |difference| "
                   f"{c.agreement.p95_abs_difference:.2f}, tau {_number(c.agreement.tau_median, '.2f')}")
    axis.legend(loc="upper left")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    partial = path.with_name(f".{path.name}.tmp.png")
    try:
        figure.savefig(partial)
        partial.replace(path)
    finally:
        plt.close(figure)
        partial.unlink(missing_ok=True)
