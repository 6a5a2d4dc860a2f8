"""Helpers shared by the benchmarks: a trained model to measure, and request bodies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def model_dir(requested: str | None) -> Path:
    """The folder given, else artifacts/v1, trained first if missing."""
    folder = Path(requested) if requested else ROOT / "artifacts" / "v1"
    if not (folder / "metadata.json").exists():
        if requested:
            sys.exit(f"{folder}: no trained model there")
        ratings = Path(sys.executable).with_name("ratings")
        subprocess.run([str(ratings), "train", "v1", "--out", str(folder.parent), "--quiet"], check=True)
    return folder


def body(items: int, user: int = 321) -> bytes:
    """An Object2Vec request like the API's request template renders."""
    return json.dumps({"instances": [{"in0": [user], "in1": [100 + n]} for n in range(items)]}).encode()
