"""A small hand-made model, for tests that need a served model but not a trained one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training import artifact
from training.inference import Model


def tiny_model(version: str = "tiny") -> Model:
    """Users 1..3 and items 10..12; user 3 loves item 12 (score clipped at 5)."""
    return Model(
        user_ids=np.array([1, 2, 3]), item_ids=np.array([10, 11, 12]),
        user_factors=np.array([[0.1], [0.0], [2.0]]), item_factors=np.array([[1.0], [0.5], [3.0]]),
        user_bias=np.array([0.2, -0.3, 0.0]), item_bias=np.array([0.1, 0.0, 0.5]), global_mean=3.5,
        metadata={"version": version})


def save_tiny(folder: Path, version: str = "tiny") -> Path:
    artifact.save(tiny_model(version), folder)
    return folder
