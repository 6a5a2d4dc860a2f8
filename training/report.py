"""The evaluation table and the learning-curve chart of a training run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt

from training.train import OURS, Report

OBJECT2VEC_NOTEBOOK_RMSE = 0.954  # the SageMaker sample notebook's validation MSE of ~0.91


def table(report: Report) -> str:
    rows = sorted(report.rmse.items(), key=lambda item: -item[1])
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"{'model':<{width}}{'RMSE':>7}  vs global mean", "-" * (width + 22)]
    reference = report.rmse["global mean"]
    for name, value in rows:
        marker = "  <- served" if name == OURS else ""
        lines.append(f"{name:<{width}}{value:>7.4f}  {100 * (value - reference) / reference:+6.1f} %{marker}")
    lines.append(f"(SageMaker Object2Vec notebook, its own validation set: ~{OBJECT2VEC_NOTEBOOK_RMSE})")
    return "\n".join(lines)


def plot(report: Report, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(7, 4.2), dpi=110)
    for name, curve in report.curves.items():
        if curve:
            steps, values = zip(*curve, strict=True)
            axis.plot(steps, values, marker=".", label=f"{name} (hold-out)")
    axis.axhline(report.rmse[OURS], color="black", linestyle="--", label=f"blend, served ({report.rmse[OURS]:.4f})")
    axis.axhline(report.best_baseline, color="grey", linestyle=":", label=f"best baseline ({report.best_baseline:.4f})")
    axis.set_xlabel("epoch (AutoRec) / Gibbs iteration (BPMF)")
    axis.set_ylabel("RMSE on the hold-out")
    axis.set_ylim(0.9, 1.05)
    axis.set_title(f"Learning curves of {report.version}")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    partial = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(partial)
    plt.close(figure)
    partial.replace(path)
