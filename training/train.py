"""Train one version: both models, the blend, its distillation, the baselines, one report.

Every number in the report is measured in this run on the same hold-out, so the table is an
honest comparison; the learning curves record hold-out RMSE while the models train.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from training import baselines
from training.data import Ratings, Split
from training.inference import FALLBACKS, Model
from training.models import autorec, blend, bpmf
from training.models.matrix import Indexed, rmse
from training.params import TrainParams

OURS = "ours (BPMF + AutoRec blend)"
CURVE_EVERY = 10


@dataclass
class Report:
    version: str
    rmse: dict[str, float]
    seconds: float
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    @property
    def best_baseline(self) -> float:
        return min(value for name, value in self.rmse.items() if name != OURS)


def _autorec(data: Indexed, params: TrainParams, test_pairs, test: Ratings, bar, curve) -> np.ndarray:
    users, items, known = test_pairs

    def on_epoch(epoch, user_weights, codes, user_bias):
        bar.update(1)
        if epoch % CURVE_EVERY == 0:
            pred = np.full(len(test), data.ratings.mean())
            pred[known] = user_bias[users[known]] + np.einsum(
                "nk,nk->n", user_weights[users[known]], codes[items[known]])
            curve.append((epoch, rmse(np.clip(pred, 1, 5), test.ratings)))

    weights, codes, bias = autorec.fit(data, params.autorec, on_epoch)
    return weights @ codes.T + bias[:, None]


def _bpmf(data: Indexed, params: TrainParams, test_pairs, test: Ratings, bar, curve) -> np.ndarray:
    users, items, known = test_pairs
    running = np.zeros(int(known.sum()))
    mean = float(data.ratings.mean())
    done = 0

    def on_sample(step, u, v):
        nonlocal done
        bar.update(step - done)  # the sampler reports kept samples only; burn-in counts too
        done = step
        running[:] += np.einsum("nk,nk->n", u[users[known]], v[items[known]])
        if step % CURVE_EVERY == 0:
            pred = np.full(len(test), mean)
            pred[known] = mean + running / (step - params.bpmf.burn_in)
            curve.append((step, rmse(np.clip(pred, 1, 5), test.ratings)))

    user_factors, item_factors, centre = bpmf.fit(data, params.bpmf, on_sample)
    bar.update(params.bpmf.iterations - done)
    return centre + user_factors @ item_factors.T


class Progress(Protocol):
    """Anything that counts steps (a tqdm bar, or a queue feeding one in another process)."""

    def update(self, n: int = 1) -> object: ...


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass


def steps(params: TrainParams) -> int:
    """Progress steps of one training run: AutoRec epochs plus BPMF iterations."""
    return params.autorec.epochs + params.bpmf.iterations


def train(version: str, split: Split, params: TrainParams, data_checksum: str,
          progress: Progress | None = None) -> tuple[Model, Report]:
    started = time.perf_counter()
    bar = progress or _NoProgress()
    data = Indexed.build(split.train)
    users, items = data.lookup(split.test)  # index pairs for the learning curves
    test_pairs = (users, items, (users >= 0) & (items >= 0))
    curves: dict[str, list[tuple[int, float]]] = {"AutoRec": [], "BPMF": []}
    autorec_matrix = _autorec(data, params, test_pairs, split.test, bar, curves["AutoRec"])
    bpmf_matrix = _bpmf(data, params, test_pairs, split.test, bar, curves["BPMF"])
    blended = params.autorec_weight * autorec_matrix + (1 - params.autorec_weight) * bpmf_matrix
    metadata = {
        "version": version, "data": {"checksum": data_checksum, "split": split.source,
                                     "train_ratings": len(split.train), "test_ratings": len(split.test)},
        "hyperparameters": params.as_dict(), "fallbacks": FALLBACKS,
    }
    model = blend.distill(blended, data, params.rank, metadata)
    seconds = time.perf_counter() - started
    scores = baselines.evaluate(split.train, split.test)
    # evaluated through the served code path: original ids in, clipped ratings out
    scores[OURS] = rmse(model.predict(split.test.users.tolist(), split.test.items.tolist()), split.test.ratings)
    metadata["metrics"] = {"rmse": scores, "train_seconds": round(seconds, 2)}
    return model, Report(version, scores, seconds, curves)
