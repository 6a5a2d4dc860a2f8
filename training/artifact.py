"""Writing a trained version: ``model.npz`` (the arrays) and ``metadata.json`` (what they are).

Reading and predicting live in ``training.inference``, the module that is also packaged for
SageMaker, so the served code is the code that was evaluated.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from training.inference import ARRAYS_FILE, FORMAT, METADATA_FILE, Model


def save(model: Model, folder: Path) -> None:
    """Write both files into a fresh directory, then swap it in for ``folder``.

    Files already in ``folder`` that this does not write (a learning curve, say) are kept.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        np.savez(staging / ARRAYS_FILE, user_ids=model.user_ids, item_ids=model.item_ids,
                 user_factors=model.user_factors.astype(np.float32),
                 item_factors=model.item_factors.astype(np.float32),
                 user_bias=model.user_bias.astype(np.float32), item_bias=model.item_bias.astype(np.float32),
                 global_mean=np.float64(model.global_mean))
        (staging / METADATA_FILE).write_text(json.dumps({"format": FORMAT, **model.metadata}, indent=2) + "\n")
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, folder: Path) -> None:
    if not folder.exists():
        os.replace(staging, folder)
        return
    for extra in folder.iterdir():
        target = staging / extra.name
        if target.exists():
            continue
        if extra.is_dir():
            shutil.copytree(extra, target)
        else:
            shutil.copy2(extra, target)
    retired = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    os.replace(folder, retired)
    os.replace(staging, folder)
    shutil.rmtree(retired, ignore_errors=True)
