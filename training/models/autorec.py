"""Item-based AutoRec (Sedhain et al., 2015): an autoencoder over each item's rating vector.

Each item's ratings by all users pass through one sigmoid hidden layer and are reconstructed;
the loss counts only observed ratings. Once trained, an item's hidden code h_i is fixed, so a
prediction is the dot product V_u . h_i plus a user bias - the same shape as matrix
factorisation, which is what the served artifact stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from training.models.matrix import Indexed


@dataclass(frozen=True)
class AutoRecParams:
    hidden: int = 500
    l2: float = 100.0
    epochs: int = 300
    learning_rate: float = 0.003
    seed: int = 0


class _Adam:
    def __init__(self, params: list[np.ndarray], rate: float):
        self.params, self.rate, self.step = params, rate, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def update(self, grads: list[np.ndarray]) -> None:
        self.step += 1
        correction = np.sqrt(1 - 0.999 ** self.step) / (1 - 0.9 ** self.step)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= self.rate * correction * m / (np.sqrt(v) + 1e-8)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fit(data: Indexed, params: AutoRecParams,
        on_epoch: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user weights V: users x hidden, item codes H: items x hidden, user bias c)."""
    rng = np.random.default_rng(params.seed)
    n_users, _ = data.shape
    ratings = data.matrix().T.toarray().astype(np.float32)  # items x users
    observed = (ratings > 0).astype(np.float32)
    encoder = (rng.standard_normal((n_users, params.hidden)) * 0.03).astype(np.float32)
    encoder_bias = np.zeros(params.hidden, np.float32)
    decoder = (rng.standard_normal((params.hidden, n_users)) * 0.03).astype(np.float32)
    decoder_bias = np.zeros(n_users, np.float32)
    optimiser = _Adam([encoder, encoder_bias, decoder, decoder_bias], params.learning_rate)
    for epoch in range(1, params.epochs + 1):
        codes = _sigmoid(ratings @ encoder + encoder_bias)
        error = (codes @ decoder + decoder_bias - ratings) * observed
        code_grad = (error @ decoder.T) * codes * (1 - codes)
        optimiser.update([ratings.T @ code_grad + params.l2 * encoder, code_grad.sum(axis=0),
                          codes.T @ error + params.l2 * decoder, error.sum(axis=0)])
        if on_epoch is not None:
            on_epoch(epoch, decoder.T, codes, decoder_bias)
    codes = _sigmoid(ratings @ encoder + encoder_bias)
    return decoder.T.astype(np.float64), codes.astype(np.float64), decoder_bias.astype(np.float64)
