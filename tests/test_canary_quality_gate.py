"""The quality gate in the rollout: its thresholds in the stack config (routing.analysis.quality),
its step in the schedule, and a run that a failing gate rolls back before any weight is set."""

from __future__ import annotations

import pytest

from canary.compare_command import quality_thresholds
from core import config as stack_config
from core import rollout
from core import schedule as steps
from core.analysis import Analysis, Verdict
from core.fields import ConfigError
from core.metrics import VariantStats
from core.run_state import RunState, RunStatus
from core.thresholds import AnalysisThresholds, QualityThresholds
from tests.stacks import DELETE, example, with_change

QUALITY = "ratings:routing.analysis.quality"

CONFIGS = [
    (DELETE, None),
    ({}, QualityThresholds()),
    ({"maxRmseIncrease": 0.05, "minPairs": 100}, QualityThresholds(max_rmse_increase=0.05, min_pairs=100)),
    ({"maxP95Difference": 1, "minRankAgreement": -0.5},
     QualityThresholds(max_p95_difference=1.0, min_rank_agreement=-0.5)),
]


@pytest.mark.parametrize(("written", "parsed"), CONFIGS)
def test_quality_thresholds_come_from_the_stack_config(written, parsed):
    config = stack_config.parse(with_change(example("local"), QUALITY, written))
    assert config.routing.quality == parsed


BAD_CONFIGS = [
    ({"maxRmse": 0.1}, "routing.analysis.quality.maxRmse: unknown setting"),
    ({"minRankAgreement": 2}, "routing.analysis.quality.minRankAgreement: 2.0 is outside -1.0..1.0"),
    ({"minPairs": 0.5}, "routing.analysis.quality.minPairs: expected a whole number"),
    ("strict", "routing.analysis.quality: expected a mapping of settings"),
]


@pytest.mark.parametrize(("written", "message"), BAD_CONFIGS)
def test_bad_quality_thresholds_are_named(written, message):
    with pytest.raises(ConfigError) as raised:
        stack_config.parse(with_change(example("local"), QUALITY, written))
    assert any(message in problem for problem in raised.value.problems), raised.value.problems


def test_flags_override_the_stacks_quality_thresholds_one_by_one():
    stack = QualityThresholds(max_rmse_increase=0.05, min_pairs=100)
    assert quality_thresholds(stack, {"min_pairs": 20, "max_rmse_increase": None}) == \
        QualityThresholds(max_rmse_increase=0.05, min_pairs=20)
    assert quality_thresholds(None, {}) == QualityThresholds()


def test_the_quality_gate_is_the_first_step():
    assert steps.schedule([5, 50], 60, quality=True) == [
        steps.Step(quality=True), steps.Step(set_weight=5), steps.Step(pause_seconds=60),
        steps.Step(analysis=True), steps.Step(set_weight=50), steps.Step(pause_seconds=60),
        steps.Step(analysis=True)]
    with pytest.raises(ValueError):
        steps.Step(quality=True, analysis=True)


class Judged:
    def __init__(self, verdict: Verdict, reasons: list[str]):
        self.verdict, self.reasons = verdict, reasons


NO_TRAFFIC = VariantStats(0, 0, 0, None)


def _run(quality_verdict: Verdict, position: int = 0):
    log: list[str] = []
    clock = [1000.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    def quality():
        log.append("quality")
        return Judged(quality_verdict, [f"predictions {quality_verdict.value}"])

    def analyse(window):
        log.append("analyse")
        return Analysis(Verdict.PASS, ["ok"], NO_TRAFFIC, NO_TRAFFIC)

    state = RunState.planned(stack="local", version="v3", weights=[5, 50], bake_seconds=60, interval_seconds=30,
                             failure_limit=0, window_seconds=60, sticky=False, thresholds=AnalysisThresholds(),
                             quality=QualityThresholds())
    state.position = position
    actions = rollout.Actions(set_weight=lambda w: log.append(f"weight {w:g}"), analyse=analyse,
                              promote=lambda: log.append("promote"), stop_canary=lambda: log.append("stop"),
                              save=lambda s: None, say=lambda line: None, clock=lambda: clock[0], sleep=sleep,
                              quality=quality)
    return rollout.execute(state, actions), log


@pytest.mark.parametrize("verdict", [Verdict.FAIL, Verdict.INCONCLUSIVE])
def test_a_quality_gate_that_does_not_pass_rolls_back_before_any_weight(verdict):
    final, log = _run(verdict)
    assert log == ["quality", "stop"], "no traffic set; a canary already running is stopped"
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == verdict.value
    assert final.reason == f"rolled back: quality {verdict.value}: predictions {verdict.value}"
    assert [(v.kind, v.verdict) for v in final.verdicts] == [("quality", verdict.value)]


def test_a_passing_quality_gate_lets_the_run_go_on():
    final, log = _run(Verdict.PASS)
    assert final.status is RunStatus.PROMOTED
    assert log.count("quality") == 1 and log[:2] == ["quality", "weight 5"] and log[-1] == "promote"


def test_a_resumed_run_past_the_first_step_does_not_judge_predictions_again():
    final, log = _run(Verdict.FAIL, position=4)  # the second weight's record
    assert "quality" not in log and final.status is RunStatus.PROMOTED
