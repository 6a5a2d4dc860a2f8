"""The served model: a low-rank factorisation with biases, id maps and metadata.

``model.npz`` holds the arrays and ``metadata.json`` says what they are (version, data
checksum, hyperparameters, metrics). Loading and predicting need numpy only, so the same
code runs in the local server and in SageMaker's scikit-learn container.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ARRAYS_FILE = "model.npz"
METADATA_FILE = "metadata.json"
FORMAT = "ratings-factorisation/1"
MIN_RATING, MAX_RATING = 1.0, 5.0

FALLBACKS = {
    "unknown item": "global mean + the user's bias",
    "unknown user": "global mean + the item's bias",
    "both unknown": "global mean",
}


class ArtifactError(ValueError):
    """A model directory that cannot be loaded."""


@dataclass(frozen=True)
class Artifact:
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    global_mean: float
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        # id -> row lookups for serving, built once
        object.__setattr__(self, "_user_rows", {int(u): n for n, u in enumerate(self.user_ids.tolist())})
        object.__setattr__(self, "_item_rows", {int(i): n for n, i in enumerate(self.item_ids.tolist())})

    def predict(self, users: list[int], items: list[int]) -> np.ndarray:
        """One rating per (user, item) pair, clipped to 1..5; unknown ids use FALLBACKS."""
        user_rows = np.fromiter((self._user_rows.get(u, -1) for u in users), np.int64, len(users))
        item_rows = np.fromiter((self._item_rows.get(i, -1) for i in items), np.int64, len(items))
        known_user, known_item = user_rows >= 0, item_rows >= 0
        u, i = np.where(known_user, user_rows, 0), np.where(known_item, item_rows, 0)
        score = self.global_mean + np.where(known_user, self.user_bias[u], 0.0) + np.where(
            known_item, self.item_bias[i], 0.0)
        both = known_user & known_item
        if both.any():
            score[both] += np.einsum("nk,nk->n", self.user_factors[u[both]], self.item_factors[i[both]])
        return np.clip(score, MIN_RATING, MAX_RATING)

    def save(self, folder: Path) -> None:
        """Write both files into ``folder`` at once: a new directory replaces the old one."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            np.savez(staging / ARRAYS_FILE, user_ids=self.user_ids, item_ids=self.item_ids,
                     user_factors=self.user_factors.astype(np.float32),
                     item_factors=self.item_factors.astype(np.float32),
                     user_bias=self.user_bias.astype(np.float32), item_bias=self.item_bias.astype(np.float32),
                     global_mean=np.float64(self.global_mean))
            (staging / METADATA_FILE).write_text(json.dumps({"format": FORMAT, **self.metadata}, indent=2) + "\n")
            _replace_directory(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _replace_directory(staging: Path, folder: Path) -> None:
    """Swap ``staging`` in for ``folder``; other files already in ``folder`` are kept."""
    if folder.exists():
        for extra in folder.iterdir():
            if not (staging / extra.name).exists():
                shutil.move(str(extra), staging / extra.name)
        retired = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(folder, retired)
        os.replace(staging, folder)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, folder)


def load(folder: Path | str) -> Artifact:
    folder = Path(folder)
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text())
        with np.load(io.BytesIO((folder / ARRAYS_FILE).read_bytes())) as arrays:
            values = {name: arrays[name] for name in arrays.files}
    except FileNotFoundError as error:
        raise ArtifactError(f"{folder}: missing {Path(error.filename).name}; train a version with "
                            "`ratings train` or pass the folder that holds it") from None
    except (ValueError, OSError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{folder}: unreadable model files ({error})") from None
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"{folder}: format {metadata.get('format')!r}, expected {FORMAT!r}")
    return Artifact(values["user_ids"], values["item_ids"], values["user_factors"], values["item_factors"],
                    values["user_bias"], values["item_bias"], float(values["global_mean"]), metadata)
