"""`ratings package`: an archive the SageMaker scikit-learn container can load on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

import pytest
from click.testing import CliRunner

from core import config as stack_config
from ratings.cli import main
from tests.model_fixtures import save_tiny
from tests.stacks import example
from training import package


def test_archive_holds_the_model_and_a_self_contained_handler(tmp_path):
    save_tiny(tmp_path / "artifacts" / "v2", version="v2")
    built = package.build(tmp_path / "artifacts" / "v2", tmp_path / "model.tar.gz")
    with tarfile.open(built.path) as archive:
        assert sorted(archive.getnames()) == ["code/inference.py", "code/ratings_inference.py", "metadata.json",
                                              "model.npz"]
        archive.extractall(tmp_path / "opt-ml-model", filter="data")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1] + '/code'); import ratings_inference as h; "
        "m = h.model_fn(sys.argv[1]); "
        "p = h.predict_fn(h.input_fn(b'{\"instances\": [{\"in0\": [1], \"in1\": [10]}]}', 'application/json'), m); "
        "print(h.output_fn(p, 'application/json')[0].decode())")
    # -I: isolated, so only the archive's code and the standard library plus numpy are importable
    done = subprocess.run([sys.executable, "-I", "-c", script, str(tmp_path / "opt-ml-model")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["predictions"][0]["scores"][0] == pytest.approx(3.9, abs=1e-6)  # float32 arrays


def test_printed_stack_entry_is_a_valid_model_version(tmp_path):
    save_tiny(tmp_path / "v2", version="v2")
    result = CliRunner().invoke(main, ["package", "v2", "--artifacts", str(tmp_path),
                                       "--s3-uri", "s3://my-ratings-models/local/v2/model.tar.gz"])
    assert result.exit_code == 0, result.output
    values = example("prod")
    values["ratings:models"][1] = package.stack_entry("v2", "s3://my-ratings-models/local/v2/model.tar.gz")
    assert stack_config.parse(values).model("v2").image == "sklearn:1.2-1"
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in result.output


def test_packaging_a_missing_version_is_one_error(tmp_path):
    result = CliRunner().invoke(main, ["package", "v7", "--artifacts", str(tmp_path)])
    assert result.exit_code == 1 and "missing metadata.json" in result.output
