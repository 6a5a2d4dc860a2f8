""""Ours": the average of BPMF and AutoRec, distilled into one low-rank factorisation.

Both models predict by dot products, but BPMF's posterior mean needs every kept sample's
factors (thousands of columns). The blended prediction matrix over training users x items is
therefore rebuilt once, its baseline (global mean + user and item biases) removed, and the
residual truncated by SVD to ``rank`` columns. Serving then computes mean + b_u + b_i + p_u.q_i
with numpy only; the biases also give the fallbacks for ids training never saw.
"""

from __future__ import annotations

import numpy as np

from training.inference import Model
from training.models.matrix import Indexed


def biases(data: Indexed, reg_user: float = 15.0, reg_item: float = 10.0, sweeps: int = 10):
    """Regularised user and item offsets from the global mean (alternating least squares, as
    Surprise's BaselineOnly does)."""
    n_users, n_items = data.shape
    mean = float(data.ratings.mean())
    user_bias, item_bias = np.zeros(n_users), np.zeros(n_items)
    user_count = np.bincount(data.users, minlength=n_users)
    item_count = np.bincount(data.items, minlength=n_items)
    for _ in range(sweeps):
        residual = data.ratings - mean - user_bias[data.users]
        item_bias = np.bincount(data.items, residual, n_items) / (reg_item + item_count)
        residual = data.ratings - mean - item_bias[data.items]
        user_bias = np.bincount(data.users, residual, n_users) / (reg_user + user_count)
    return mean, user_bias, item_bias


def distill(blended: np.ndarray, data: Indexed, rank: int, metadata: dict) -> Model:
    """Best rank-``rank`` approximation (SVD) of the blend around its bias baseline."""
    mean, user_bias, item_bias = biases(data)
    residual = blended - mean - user_bias[:, None] - item_bias[None, :]
    left, singular, right = np.linalg.svd(residual, full_matrices=False)
    scale = np.sqrt(singular[:rank])
    return Model(data.user_ids, data.item_ids, left[:, :rank] * scale, right[:rank].T * scale,
                 user_bias, item_bias, mean, metadata)
