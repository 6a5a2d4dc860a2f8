"""The local dashboard's figures: exact rates between snapshots, the newest minute's latency,
routing roles and shares, and a `canary run` state file read defensively."""

from __future__ import annotations

import pytest

from core import config as stack_config
from core import run_state
from core.analysis import Verdict
from core.metrics import Latency, Period, Snapshot
from core.thresholds import AnalysisThresholds
from emulator import dashboard_view as view
from emulator.dashboard_view import Counts, Recent, Sample
from tests.stacks import example, with_change


def _sample(at: float, **variants: dict[int, tuple[int, int, int]]) -> Sample:
    return Sample(at, {name: {start: Counts(*counts) for start, counts in periods.items()}
                       for name, periods in variants.items()})


RECENT = [
    # one minute's counter grows by 50 requests in 5 s, 5 of them 5xx
    (_sample(0, v1={60: (100, 0, 0)}), _sample(5, v1={60: (150, 0, 5)}), {"v1": Recent(10.0, 0.0, 0.1)}),
    # the minute turns between the samples: the old minute's growth and the new minute count
    (_sample(0, v1={0: (100, 2, 0)}), _sample(2, v1={0: (110, 2, 0), 60: (10, 4, 0)}),
     {"v1": Recent(10.0, 0.2, 0.0)}),
    # an old minute dropped out of the later snapshot: nothing is subtracted
    (_sample(0, v1={0: (100, 0, 0), 60: (5, 0, 0)}), _sample(4, v1={60: (9, 0, 0)}), {"v1": Recent(1.0, 0.0, 0.0)}),
    # no traffic in the span: zero per second, no error share to speak of
    (_sample(0, v1={0: (7, 1, 1)}), _sample(1, v1={0: (7, 1, 1)}), {"v1": Recent(0.0, None, None)}),
    # a version whose first request comes after the earlier sample
    (_sample(0, v1={0: (1, 0, 0)}), _sample(2, v1={0: (1, 0, 0)}, v2={0: (4, 0, 4)}),
     {"v1": Recent(0.0, None, None), "v2": Recent(2.0, 0.0, 1.0)}),
]


@pytest.mark.parametrize(("earlier", "later", "expected"), RECENT)
def test_recent_rates_are_exact_counts_over_the_time_between_snapshots(earlier, later, expected):
    assert view.recent(earlier, later) == expected


def test_recent_refuses_samples_out_of_order():
    with pytest.raises(ValueError, match="later sample must be taken after"):
        view.recent(_sample(5, v1={}), _sample(5, v1={}))


def test_sample_of_reads_the_metrics_snapshot():
    period = {"Timestamp": 120, "Invocations": 9, "Invocation4XXErrors": 1, "Invocation5XXErrors": 2,
              "ModelLatency": None}
    snapshot = Snapshot.from_json({"EndpointName": "e", "PeriodSeconds": 60, "Variants": {"v1": [period]}})
    assert view.sample_of(snapshot, 3.0) == _sample(3.0, v1={120: (9, 1, 2)})


def test_rate_meter_spans_at_most_ten_seconds_and_ignores_polls_closer_than_half_a_second():
    meter = view.RateMeter(span_s=10, min_span_s=0.5)
    assert meter.observe(_sample(0.0, v1={0: (0, 0, 0)})) is None  # nothing to compare with yet
    assert meter.observe(_sample(0.2, v1={0: (2, 0, 0)})) is None  # too close to the first, and not kept
    assert meter.observe(_sample(1.0, v1={0: (10, 0, 0)}))["v1"].per_second == pytest.approx(10.0)
    assert meter.observe(_sample(5.0, v1={0: (50, 0, 0)}))["v1"].per_second == pytest.approx(10.0)
    # 10.5 s after the start the first sample has left the span: the rate is over 1.0 -> 10.5
    assert meter.observe(_sample(10.5, v1={0: (200, 0, 0)}))["v1"].per_second == pytest.approx(190 / 9.5)
    assert [sample.at for sample in meter._samples] == [1.0, 5.0, 10.5]


def _minute(start: int, p50_us: float | None = None, p99_us: float | None = None) -> Period:
    latency = None if p50_us is None else Latency(10, p50_us, p50_us, p99_us, p99_us)
    return Period(start, 10, 0, 0, latency)


LATENCY = [
    ((), 600, None),
    ((_minute(540),), 600, None),
    ((_minute(480, 2000.0, 9000.0), _minute(540, 1500.0, 4000.0)), 600, {"p50": 1.5, "p99": 4.0}),
    # the newest minute had no request: the one before stands, if it is recent
    ((_minute(480, 2000.0, 9000.0), _minute(540)), 590, {"p50": 2.0, "p99": 9.0}),
    ((_minute(0, 2000.0, 9000.0),), 600, None),  # ten minutes ago is not now
]


@pytest.mark.parametrize(("periods", "now", "expected"), LATENCY)
def test_latest_latency_is_the_newest_recent_minute_in_milliseconds(periods, now, expected):
    assert view.latest_latency_ms(periods, now) == expected


def _config(routing: dict):
    return stack_config.parse(with_change(example("local"), "ratings:routing", routing))


ROUTING = [
    ({"live": "v1"}, {"v1": ("live", 100.0), "v2": ("idle", 0.0)}),
    ({"live": "v1", "canary": {"version": "v2", "percent": 10}}, {"v1": ("live", 90.0), "v2": ("candidate", 10.0)}),
    ({"live": "v2", "previous": "v1", "canary": {"version": "v1", "percent": 30, "mode": "sticky"}},
     {"v1": ("candidate", 30.0), "v2": ("live", 70.0)}),
    ({"live": "v2", "previous": "v1"}, {"v1": ("previous", 0.0), "v2": ("live", 100.0)}),
]


@pytest.mark.parametrize(("routing", "roles"), ROUTING)
def test_roles_and_shares_follow_the_stack_config(routing, roles):
    served = _config(routing).routing
    assert {name: tuple(view.version_view(served, name).values()) for name in roles} == roles


def _run(status: run_state.RunStatus = run_state.RunStatus.RUNNING, position: int = 4,
         verdicts: int = 1) -> run_state.RunState:
    """A run of v2 over 5 %, 25 %, 50 %, in its second step's bake unless told otherwise."""
    run = run_state.RunState.planned(stack="local", version="v2", weights=[5, 25, 50], bake_seconds=600,
                                     interval_seconds=60, failure_limit=2, window_seconds=600, sticky=False,
                                     thresholds=AnalysisThresholds())
    run.position, run.phase, run.status, run.failures, run.pid = position, run_state.Phase.BAKING, status, 1, 4242
    run.verdicts = [run_state.VerdictRecord(1.5, 0, 5, run_state.VerdictKind.GATE, Verdict.PASS, [])][:verdicts]
    return run


SHOWN = {"version": "v2", "step": 2, "steps": 3, "weight": 25.0, "weights": [5.0, 25.0, 50.0], "phase": "baking",
         "failures": 1, "failureLimit": 2, "lastVerdict": {"verdict": "pass", "kind": "gate"}, "processAlive": True}

RUNS = [
    (None, None),
    (_run(run_state.RunStatus.PROMOTED), None),
    (_run(run_state.RunStatus.ROLLED_BACK), None),
    (_run(), SHOWN),
    (_run(verdicts=0), {**SHOWN, "lastVerdict": None}),
    (_run(position=9), {**SHOWN, "step": 3, "weight": 50.0}),  # past the end: the last step
]


@pytest.mark.parametrize(("run", "expected"), RUNS)
def test_run_view_shows_only_a_run_in_progress(run, expected):
    assert view.run_view(run, alive=lambda pid: pid == 4242) == expected


def test_run_view_says_when_the_runs_process_is_gone():
    assert view.run_view(_run(), alive=lambda pid: False)["processAlive"] is False
