"""The run record: one reader and one writer for `canary run`, `canary status` and the local
dashboard; a file that is not a run record is refused with one line, never half read."""

from __future__ import annotations

import json

import pytest

from core import run_state
from core.analysis import Check, Verdict
from core.schedule import Step
from core.thresholds import AnalysisThresholds, QualityThresholds


def _run(quality: QualityThresholds | None = None) -> run_state.RunState:
    run = run_state.RunState.planned(stack="local", version="v2", weights=[5, 25, 50], bake_seconds=600,
                                     interval_seconds=60, failure_limit=2, window_seconds=600, sticky=False,
                                     thresholds=AnalysisThresholds(min_requests=40), quality=quality)
    checks = [Check("5xx rate", "0.10% (1 of 1000)", "2.00% (2 of 100)", "at most 1.5x live's", "evidence 3.1 of 100"),
              Check("answered share", "95% (950 of 1000)", "5% (50 of 1000)", "at least 80% of 5%", "evidence 0.2",
                    failure="candidate answered too little")]
    run.verdicts = [run_state.VerdictRecord(1.5, 0, 5, run_state.VerdictKind.GATE, Verdict.PASS, ["ok"], checks),
                    run_state.VerdictRecord(2.5, 0, 5, run_state.VerdictKind.QUALITY, Verdict.PASS, ["ok"])]
    return run


@pytest.mark.parametrize("quality", [None, QualityThresholds(min_pairs=100)])
def test_a_run_reads_back_as_it_was_written(tmp_path, quality):
    path = run_state.path_for(tmp_path / "Pulumi.local.yaml")
    written = _run(quality)
    run_state.save(path, written)
    assert path.name == "Pulumi.local.canary-run.json"
    assert run_state.load(path) == written
    assert run_state.load(tmp_path / "none.json") is None


def test_a_verdict_recorded_without_its_evidence_still_reads():
    """Records written before verdicts carried their checks."""
    data = _run().to_json()
    for verdict in data["verdicts"]:
        verdict.pop("checks")
    assert [v.checks for v in run_state.RunState.from_json(data).verdicts] == [[], []]


VALID = _run().to_json()
UNREADABLE = [
    b"", b"{not json", b"[1, 2]", b"\xff\xfe not text",
    json.dumps({**VALID, "format": 1}).encode(),  # an older version's record
    json.dumps({k: v for k, v in VALID.items() if k != "steps"}).encode(),
    json.dumps({**VALID, "position": "two"}).encode(),
    json.dumps({**VALID, "steps": [{"jump": 5}]}).encode(),
    json.dumps({**VALID, "phase": "dancing"}).encode(),
    json.dumps({**VALID, "thresholds": {"maxErrors": 3}}).encode(),
]


@pytest.mark.parametrize("data", UNREADABLE)
def test_anything_else_is_refused_in_one_line(tmp_path, data):
    path = tmp_path / "Pulumi.local.canary-run.json"
    path.write_bytes(data)
    with pytest.raises(run_state.RunStateError, match=r"is not readable .*; delete it to start afresh"):
        run_state.load(path)


@pytest.mark.parametrize(("position", "step", "weight", "resume"), [
    (0, 0, 5, 0), (1, 0, 5, 0), (2, 0, 5, 0),  # the first step starts again from its beginning
    (3, 1, 25, 3), (4, 1, 25, 3), (5, 1, 25, 3),  # a later one from setting its weight
    (8, 2, 50, 6), (9, 2, 50, 6),  # past the end: the last step
])
def test_a_position_belongs_to_one_weight_step(position, step, weight, resume):
    run = _run()
    run.position = position
    assert (run.step, run.weight, run.resume_position()) == (step, weight, resume)


def test_with_a_quality_gate_a_resumed_first_step_is_judged_again():
    run = _run(QualityThresholds())
    assert run.steps[0] == Step(quality=True)
    run.position = 2  # baking at 5 %
    assert run.resume_position() == 0
    run.position = 4  # setting 25 %
    assert run.resume_position() == 4
