"""`ratings train` on the real data: every baseline in the table, ours lowest and <= 0.92."""

from __future__ import annotations

import json
import re

from training.train import OURS

TARGET_RMSE = 0.92
BASELINES = ("global mean", "per-user mean", "Surprise BaselineOnly", "Surprise SVD (defaults)")


def _table(stdout: str) -> dict[str, float]:
    return {m[1].strip(): float(m[2]) for m in re.finditer(r"^(.+?)\s+(\d\.\d{4})\s+[+-]", stdout, re.M)}


def test_table_shows_every_baseline_and_ours_lowest(trained):
    rows = _table(trained["stdout"])
    assert set(rows) == {*BASELINES, OURS}
    assert rows[OURS] <= TARGET_RMSE, f"ours scored {rows[OURS]} on the hold-out, target {TARGET_RMSE}"
    assert rows[OURS] < min(rows[name] for name in BASELINES)


def test_metadata_records_data_params_and_metrics(trained):
    metadata = json.loads((trained["folder"] / "metadata.json").read_text())
    assert metadata["version"] == "v1"
    assert metadata["data"]["split"] == "holdout-42" and metadata["data"]["test_ratings"] == 9430
    assert len(metadata["data"]["checksum"]) == 64
    assert metadata["hyperparameters"]["rank"] == 128
    assert abs(metadata["metrics"]["rmse"][OURS] - _table(trained["stdout"])[OURS]) < 5e-5
    assert metadata["metrics"]["train_seconds"] > 0  # its speed is bench/first_run.sh's to judge


def test_learning_curve_is_a_png(trained):
    assert (trained["folder"] / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
