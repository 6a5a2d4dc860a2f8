"""The reference points every trained version is compared with, on the same hold-out."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from surprise import SVD, AlgoBase, BaselineOnly, Dataset, Reader

from training.data import Ratings
from training.models.matrix import rmse


def _global_mean(train: Ratings, test: Ratings) -> np.ndarray:
    return np.full(len(test), train.ratings.mean())


def _user_mean(train: Ratings, test: Ratings) -> np.ndarray:
    """The notebook's baseline 2: each user's own mean rating."""
    sums = pd.Series(train.ratings).groupby(train.users).mean()
    return sums.reindex(test.users).fillna(train.ratings.mean()).to_numpy()


def _surprise(algorithm_factory: Callable[[], AlgoBase]) -> Callable[[Ratings, Ratings], np.ndarray]:
    def predict(train: Ratings, test: Ratings) -> np.ndarray:
        frame = pd.DataFrame({"user": train.users, "item": train.items, "rating": train.ratings})
        trainset = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5))).build_full_trainset()
        algorithm = algorithm_factory()
        algorithm.fit(trainset)
        pairs = zip(test.users.tolist(), test.items.tolist(), strict=True)
        return np.array([algorithm.predict(u, i).est for u, i in pairs])

    return predict


BASELINES: dict[str, Callable[[Ratings, Ratings], np.ndarray]] = {
    "global mean": _global_mean,
    "per-user mean": _user_mean,
    "Surprise BaselineOnly": _surprise(lambda: BaselineOnly(verbose=False)),
    "Surprise SVD (defaults)": _surprise(lambda: SVD(random_state=0)),
}


def evaluate(train: Ratings, test: Ratings) -> dict[str, float]:
    return {name: rmse(predict(train, test), test.ratings) for name, predict in BASELINES.items()}
