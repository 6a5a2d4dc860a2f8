"""Hyperparameters: defaults, files, overrides, and one clear error per mistake."""

from __future__ import annotations

import pytest

from training import params
from training.commands import HYPERPARAMETERS


def test_version_files_differ_and_load():
    v1, v2 = params.load(HYPERPARAMETERS / "v1.yaml"), params.load(HYPERPARAMETERS / "v2.yaml")
    assert v1 == params.TrainParams(), "v1.yaml writes out the defaults"
    assert v2.rank == 64 and v2.autorec.hidden == 300 and v2.bpmf.factors == 16


def test_overrides_win_over_the_file():
    loaded = params.load(HYPERPARAMETERS / "v1.yaml", {"bpmf": {"factors": 8}, "rank": 32})
    assert loaded.bpmf.factors == 8 and loaded.rank == 32 and loaded.autorec.hidden == 500


@pytest.mark.parametrize(("overrides", "message"), [
    ({"bpmf": {"factor": 8}}, "flags.bpmf.factor: unknown hyperparameter"),
    ({"rank": 2.5}, "flags.rank: expected int, got 2.5"),
    ({"autorec": {"l2": "big"}}, "flags.autorec.l2: expected float, got 'big'"),
    ({"autorec_weight": 1.5}, "autorec_weight: 1.5 must be within 0..1"),
    ({"bpmf": {"burn_in": 500}}, "bpmf.burn_in must be below bpmf.iterations"),
    ({"rank": 0}, "rank: must be at least 1, got 0"),
    ({"bpmf": 3}, "flags.bpmf: expected a mapping, got int"),
])
def test_bad_values_are_named(overrides, message):
    with pytest.raises(params.ParamsError) as raised:
        params.load(None, overrides)
    assert str(raised.value).startswith(message)


def test_bad_files(tmp_path):
    broken = tmp_path / "p.yaml"
    broken.write_text("bpmf: [\n")
    with pytest.raises(params.ParamsError, match="not valid YAML"):
        params.load(broken)
    with pytest.raises(params.ParamsError, match="No such file"):
        params.load(tmp_path / "missing.yaml")
