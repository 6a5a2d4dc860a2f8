"""Dense index spaces shared by the models: original ids -> rows and columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from training.data import Ratings


@dataclass(frozen=True)
class Indexed:
    """Training ratings over contiguous user/item indexes (users and items seen in training)."""

    user_ids: np.ndarray  # index -> original id
    item_ids: np.ndarray
    users: np.ndarray  # per rating: user index
    items: np.ndarray
    ratings: np.ndarray

    @classmethod
    def build(cls, train: Ratings) -> Indexed:
        user_ids, users = np.unique(train.users, return_inverse=True)
        item_ids, items = np.unique(train.items, return_inverse=True)
        return cls(user_ids, item_ids, users, items, train.ratings.astype(np.float64))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.user_ids), len(self.item_ids)

    def lookup(self, ratings: Ratings) -> tuple[np.ndarray, np.ndarray]:
        """Indexes of ``ratings``' users and items; -1 where training never saw the id."""
        return _positions(self.user_ids, ratings.users), _positions(self.item_ids, ratings.items)

    def matrix(self, values: np.ndarray | None = None) -> sparse.csr_matrix:
        """users x items sparse matrix of ``values`` (the ratings by default)."""
        data = self.ratings if values is None else values
        return sparse.csr_matrix((data, (self.users, self.items)), shape=self.shape)


def _positions(known: np.ndarray, ids: np.ndarray) -> np.ndarray:
    found = np.searchsorted(known, ids)
    found = np.clip(found, 0, len(known) - 1)
    return np.where(known[found] == ids, found, -1)


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2)))
