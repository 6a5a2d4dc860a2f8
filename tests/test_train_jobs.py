"""`ratings train` with several versions: side by side, a bar each, one line per mistake.

Runs on a small synthetic MovieLens folder with a few epochs, so the worker processes, the progress
queue and the error paths are exercised in seconds; the real data is trained by test_train.py.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import RATINGS

TINY = ("--set", "autorec.epochs=3", "--set", "autorec.hidden=8", "--set", "bpmf.iterations=4",
        "--set", "bpmf.burn_in=1", "--set", "bpmf.factors=4", "--set", "rank=4")


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("movielens") / "ml-100k"
    folder.mkdir()
    rows = [f"{user}\t{item}\t{1 + (user * 7 + item * 3) % 5}\t{880000000 + item}"
            for user in range(1, 41) for item in range(1, 61) if (user + item) % 3]
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    return folder.parent


def _train(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([RATINGS, "train", *args], capture_output=True, text=True, timeout=180, cwd=cwd)


def test_two_versions_side_by_side_each_with_a_bar(data_folder, tmp_path):
    done = _train("a", "b", "--jobs", "2", "--data", str(data_folder), "--out", str(tmp_path), *TINY)
    assert done.returncode == 0, done.stderr
    for version in ("a", "b"):
        assert json.loads((tmp_path / version / "metadata.json").read_text())["version"] == version
        assert (tmp_path / version / "learning_curve.png").exists()
        steps = 3 + 4
        assert f"training {version}: 100%" in done.stderr and f"{steps}/{steps}" in done.stderr
    assert done.stdout.index("\na: trained in") < done.stdout.index("\nb: trained in"), "summaries in the order asked"


def test_side_by_side_gives_the_same_model_as_one_at_a_time(data_folder, tmp_path):
    together = _train("a", "b", "--jobs", "2", "--quiet", "--data", str(data_folder), "--out",
                      str(tmp_path / "together"), *TINY)
    alone = _train("a", "--quiet", "--data", str(data_folder), "--out", str(tmp_path / "alone"), *TINY)
    assert together.returncode == alone.returncode == 0, together.stderr + alone.stderr
    rmse = [json.loads((tmp_path / run / "a" / "metadata.json").read_text())["metrics"]["rmse"]
            for run in ("together", "alone")]
    for model, value in rmse[1].items():  # one BLAS thread instead of several: float sums only
        assert rmse[0][model] == pytest.approx(value, abs=1e-4), model


@pytest.mark.parametrize("args, message", [
    (("a", "a"), "each version once"),
    (("a", "b", "--params", "x.yaml"), "--params applies to a single VERSION"),
    (("a", "b/c"), "'b/c': use letters, digits and hyphens"),
    (("a", "b", "--sagemaker"), "--sagemaker trains one VERSION at a time"),
    (("a", "--set", "autorec.epochs=-1"), "autorec.epochs: must not be negative"),
])
def test_mistakes_stop_before_any_training(args, message, tmp_path):
    done = _train(*args, "--out", str(tmp_path))
    assert done.returncode != 0 and message in done.stderr
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


def test_a_failing_version_is_named_in_one_line(tmp_path):
    missing = tmp_path / "no-such-data"
    done = _train("a", "b", "--jobs", "2", "--quiet", "--data", str(missing), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: a: ") and str(missing) in lines[0]
