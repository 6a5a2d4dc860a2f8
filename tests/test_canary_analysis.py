"""Verdicts, durations, the step schedule and the automated run, all without I/O."""

from __future__ import annotations

import datetime as dt

import boto3
import numpy as np
import pytest
from botocore.stub import Stubber

from canary.metrics_sources import LATENCY_EDGES_US, AnswerCounts, CloudWatchMetrics
from core import analysis, rollout
from core import schedule as steps
from core.analysis import Verdict
from core.metrics import Answers, MetricsError, Snapshot, VariantStats, published_minutes, window_p99
from core.run_state import RunState, RunStatus
from core.thresholds import AnalysisThresholds as Thresholds
from core.thresholds import with_overrides
from emulator.metrics import LatencyHistogram

LIVE = VariantStats(1000, 10, 0, 20.0)  # p99 20 ms: the latency rule applies above the 20 ms floor


@pytest.mark.parametrize(("candidate", "verdict", "reason"), [
    (VariantStats(200, 2, 0, 29.0), Verdict.PASS, "within every threshold"),
    (VariantStats(50, 0, 0, 20.0), Verdict.INCONCLUSIVE, "only 50 candidate requests, 100 needed"),
    (VariantStats(200, 0, 5, 20.0), Verdict.FAIL,
     "candidate 5xx rate 2.50% (5 of 200) is over 1.5x live's 0.00% (0 of 990); evidence 199 of 100 needed"),
    (VariantStats(200, 0, 0, 45.0), Verdict.FAIL, "candidate p99 45.0 ms is over 1.5x live's 20.0 ms"),
    (VariantStats(10, 0, 3, 20.0), Verdict.FAIL, "5xx rate"),  # strong evidence shows even on few requests
    # one early error is no evidence, however often the run looks
    (VariantStats(60, 0, 1, 20.0), Verdict.INCONCLUSIVE, "only 60 candidate requests"),
    (VariantStats(200, 0, 1, 20.0), Verdict.PASS, "within every threshold"),
    # refused requests (the template's 400s, client mistakes) count against no version ...
    (VariantStats(200, 60, 0, 20.0), Verdict.PASS, "within every threshold"),
    # ... neither as errors nor as samples: 150 requests of which 60 refused leave 90 judged
    (VariantStats(150, 60, 0, 20.0), Verdict.INCONCLUSIVE, "only 90 candidate requests"),
    # and a 5xx rate is over the requests that reached the model: 5 of 100, not 5 of 400
    (VariantStats(400, 300, 5, 20.0), Verdict.FAIL, "candidate 5xx rate 5.00% (5 of 100)"),
    # a p99 of fewer than 100 samples is their maximum: one slow request on a loaded host
    (VariantStats(60, 0, 0, 45.0), Verdict.INCONCLUSIVE, "only 60 candidate requests"),
])
def test_judge(candidate, verdict, reason):
    result = analysis.judge(LIVE, candidate, Thresholds())
    assert result.verdict is verdict and reason in "; ".join(result.reasons)


def test_a_problem_live_shares_fails_no_candidate():
    """Both versions behind the same failing dependency: the candidate is compared with live."""
    live, candidate = VariantStats(5000, 0, 100, 20.0), VariantStats(1000, 0, 21, 20.0)
    assert analysis.judge(live, candidate, Thresholds()).verdict is Verdict.PASS


def test_errors_under_the_floor_fail_no_candidate():
    live, candidate = VariantStats(100_000, 0, 0, 20.0), VariantStats(10_000, 0, 9, 20.0)
    assert analysis.judge(live, candidate, Thresholds()).verdict is Verdict.PASS
    assert analysis.judge(live, candidate, Thresholds(min_error_rate=0.0)).verdict is Verdict.FAIL


def test_the_stage_caches_answers_do_not_dilute_lives_error_rate():
    """With api.cache, three in four of live's answers come from the stage cache (200s its model
    never gave) while the canary never uses it: the 5xx test compares what each version was asked
    (counting the cached answers, live's rate would read 0.5 % against the candidate's 2 %, a fail)."""
    live = VariantStats(20_000, 0, 400, 20.0, answers=Answers(80_000, 0, 400, cached=60_000))
    candidate = VariantStats(20_000, 0, 400, 20.0, answers=Answers(20_000, 0, 400))
    result = analysis.judge(live, candidate, Thresholds())
    assert result.verdict is Verdict.PASS, result.reasons
    errors = next(check for check in result.checks if check.metric == "5xx rate")
    assert errors.live.startswith("2.00% (400 of 20000"), "the cached answers are left out"


def test_the_traffic_check_counts_what_live_was_sent_cached_answers_included():
    """A candidate that answers half of its 10 % share fails though live's model saw only half of
    live's requests (the rest came from the stage cache)."""
    live = VariantStats(4_500, 0, 0, 20.0, answers=Answers(9_000, 0, 0, cached=4_500))
    candidate = VariantStats(500, 0, 0, 20.0, answers=Answers(1_000, 0, 500, timeouts=500))
    result = analysis.judge(live, candidate, Thresholds(min_requests=5), share=0.10)
    traffic = next(check for check in result.checks if check.metric == "answered share")
    assert traffic.failed and traffic.live.endswith("(9000 of 9500)"), traffic


def test_a_candidate_answering_less_than_its_weight_sends_it_fails_with_the_counts():
    live, candidate = VariantStats(950, 0, 0, 20.0), VariantStats(10, 0, 0, 20.0)
    result = analysis.judge(live, candidate, Thresholds(min_requests=5), share=0.05)
    assert result.verdict is Verdict.FAIL
    assert result.reasons[0].startswith("candidate answered 10 of 960 requests (1.0%) where its weight sends it 5.0%")
    assert analysis.judge(live, candidate, Thresholds(min_requests=5)).verdict is Verdict.PASS, \
        "no share (sticky routing, a status read): no sample-ratio check"
    fair = VariantStats(45, 0, 0, 20.0)
    assert analysis.judge(live, fair, Thresholds(min_requests=5), share=0.05).verdict is Verdict.PASS


def test_fast_models_are_not_failed_for_relative_latency():
    live, candidate = VariantStats(500, 0, 0, 5.0), VariantStats(500, 0, 0, 8.0)
    assert analysis.judge(live, candidate, Thresholds()).verdict is Verdict.PASS


@pytest.mark.parametrize(("now", "baseline", "expected"), [
    (VariantStats(500, 10, 5, 30.0), None, VariantStats(500, 10, 5, 30.0)),
    (VariantStats(500, 10, 5, 30.0), VariantStats(200, 10, 5, 90.0), VariantStats(300, 0, 0, 30.0)),
    # a new period began since the baseline: nothing left to take off, never a negative count
    (VariantStats(50, 0, 1, 30.0), VariantStats(200, 10, 5, 90.0), VariantStats(0, 0, 0, 30.0)),
])
def test_counts_since_a_steps_baseline(now, baseline, expected):
    assert analysis.since(now, baseline) == expected


def test_flags_override_the_stack_thresholds_one_by_one():
    stack = Thresholds(min_requests=50, max_error_ratio=2.0)
    merged = with_overrides(stack, {"min_requests": 10, "max_error_ratio": None})
    assert merged == Thresholds(min_requests=10, max_error_ratio=2.0)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300), ("1h", 3600),
                                                ("250ms", 0.25), ("1.5m", 90)])
def test_durations(text, seconds):
    assert steps.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "-1s"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="is not a duration"):
        steps.parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(600, "10m"), (3600, "1h"), (90, "90s"), (0.5, "0.5s"), (7200, "2h")])
def test_durations_are_described_as_people_write_them(seconds, text):
    assert steps.describe_duration(seconds) == text
    assert steps.parse_duration(text) == seconds


def test_a_step_does_exactly_one_thing():
    with pytest.raises(ValueError):
        steps.Step(set_weight=5, analysis=True)
    with pytest.raises(ValueError):
        steps.Step()
    assert steps.schedule([5, 50], 60) == [steps.Step(set_weight=5), steps.Step(pause_seconds=60),
                                             steps.Step(analysis=True), steps.Step(set_weight=50),
                                             steps.Step(pause_seconds=60), steps.Step(analysis=True)]


class FakeClock:
    """Time that passes only when the run sleeps: bakes of whole intervals, analyses counted exactly."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _state(position: int = 0, **kw) -> RunState:
    values = dict(stack="local", version="v2", weights=[5, 25, 50], bake_seconds=600, interval_seconds=60,
                  failure_limit=0, window_seconds=600, sticky=False, thresholds=Thresholds())
    state = RunState.planned(**{**values, **kw})
    state.position = position
    return state


def _run(verdicts, state: RunState | None = None, fail_stop: bool = False, paused=None):
    """Drive ``execute`` with fake actions; ``verdicts`` answers each analysis (an exception is raised);
    ``paused(seconds into the run)`` says who paused it then."""
    log: list[str] = []
    saved: list[dict] = []
    clock = FakeClock()
    answers = iter(verdicts)

    def analyse(window):
        answer = next(answers)
        if isinstance(answer, BaseException):
            raise answer
        log.append(f"analyse at {clock.now - 1_000_000:g}")
        return analysis.Analysis(answer, [answer.value], LIVE, LIVE)

    def stop():
        log.append("stop")
        if fail_stop:
            raise RuntimeError("stack file locked")

    actions = rollout.Actions(set_weight=lambda w: log.append(f"weight {w:g}"), analyse=analyse,
                              promote=lambda: log.append("promote"), stop_canary=stop,
                              save=lambda s: saved.append(s.to_json()), say=lambda line: None, clock=clock,
                              sleep=clock.sleep,
                              paused=(lambda: paused(clock.now - 1_000_000)) if paused else None)
    final = rollout.execute(state or _state(), actions)
    return final, log, saved


def test_a_run_analyses_every_interval_and_promotes_when_all_pass():
    final, log, saved = _run([Verdict.PASS] * 30)
    assert final.status is RunStatus.PROMOTED and final.ended_by == "promoted"
    assert log.count("promote") == 1 and "stop" not in log
    assert [line for line in log if line.startswith("weight")] == ["weight 5", "weight 25", "weight 50"]
    assert len(final.verdicts) == 3 * 10, "9 interval measurements and one gate per 600 s bake at 60 s"
    assert saved[-1]["status"] == "promoted" and saved[-1]["phase"] == "done"


@pytest.mark.parametrize(("limit", "measurements"), [(0, 1), (1, 2), (3, 4)])
def test_failures_beyond_the_limit_roll_back_during_the_bake(limit, measurements):
    final, log, _ = _run([Verdict.FAIL] * 10, _state(failure_limit=limit))
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == "fail"
    assert log[-1] == "stop" and "promote" not in log
    assert log[-2] == f"analyse at {60 * measurements:g}", "rolled back after limit + 1 intervals, not the bake"
    assert final.phase == "done" and final.reason.startswith("rolled back: fail")


@pytest.mark.parametrize("bad", [Verdict.FAIL, Verdict.INCONCLUSIVE])
def test_the_gate_at_the_end_of_a_bake_must_pass(bad):
    final, log, _ = _run([Verdict.PASS] * 9 + [bad])
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == bad.value
    assert log[-1] == "stop" and final.verdicts[-1].kind == "gate"


def test_an_inconclusive_measurement_during_the_bake_does_not_count():
    final, _, _ = _run([Verdict.INCONCLUSIVE] * 9 + [Verdict.PASS] + [Verdict.PASS] * 20)
    assert final.status is RunStatus.PROMOTED


@pytest.mark.parametrize(("error", "ended_by", "reason"), [
    (MetricsError("cannot read http://127.0.0.1:1/metrics"), "error", "rolled back: cannot read http://"),
    (rollout.Interrupted("SIGINT"), "SIGINT", "rolled back: interrupted by SIGINT"),
    (rollout.Interrupted("SIGTERM"), "SIGTERM", "rolled back: interrupted by SIGTERM"),
])
def test_any_stop_rolls_the_candidate_back_and_records_it(error, ended_by, reason):
    final, log, saved = _run([Verdict.PASS, Verdict.PASS, error])
    assert log[-1] == "stop" and final.status is RunStatus.ROLLED_BACK
    assert final.ended_by == ended_by and final.reason.startswith(reason)
    assert saved[-1]["status"] == "rolled back" and RunState.from_json(saved[-1]).step == 0


def test_a_paused_bake_holds_its_weight_and_still_judges():
    """`canary pause` 2 to 7 minutes into the first bake: the weight holds, the bake's clock stands
    still for those 5 minutes (so the step takes 15), and the looks go on every interval."""
    final, log, saved = _run([Verdict.PASS] * 40, paused=lambda at: "ana@laptop" if 120 <= at < 420 else "")
    assert final.status is RunStatus.PROMOTED
    assert [line for line in log if line.startswith(("weight", "analyse"))][:17] == [
        "weight 5", *[f"analyse at {60 * n}" for n in range(1, 16)], "weight 25"]
    phases = [record["phase"] for record in saved]
    assert "paused" in phases and phases.index("paused") < len(phases) - 1 - phases[::-1].index("baking")


def test_a_paused_run_is_still_rolled_back_by_a_failing_look():
    final, log, _ = _run([Verdict.PASS, Verdict.PASS, Verdict.FAIL], paused=lambda at: "ana" if at >= 60 else "")
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == "fail" and log[-1] == "stop"


def test_a_failed_rollback_says_what_is_left_and_how_to_fix_it():
    final, _, _ = _run([MetricsError("metrics down")], fail_stop=True)
    assert final.status is RunStatus.ROLLBACK_FAILED
    assert "v2 may still receive 5 % of traffic on stack local; run `canary --stack local rollback`" in final.reason


@pytest.mark.parametrize(("model", "answers", "factor"), [
    (1000, None, 1.0),  # answers not counted (AWS's sticky canary): nothing to stretch for
    (1000, Answers(1000, 0, 0), 1.0),
    (500, Answers(1000, 0, 0, cached=500), 2.0),  # half of live's requests never reached its model
    (250, Answers(1000, 0, 0, cached=750), 3.0),
    (10, Answers(1000, 0, 0, cached=990), 3.0),  # at most 3x
    (1000, Answers(400, 0, 0, cached=300), 1.0),  # the gateway's count covers too little of the model's
])
def test_the_last_bake_is_stretched_by_how_much_of_lives_traffic_the_cache_hid(model, answers, factor):
    live = VariantStats(model, 0, 0, 20.0, answers=answers)
    assert analysis.bake_factor(live) == pytest.approx(factor)


def test_a_stage_cache_stretches_the_last_bake_and_its_window_not_the_others():
    """With 3/4 of live's answers from the stage cache, the 5xx test sees a quarter of live's own
    answers: the last bake (before promotion) runs 3x as long and each look's window grows with it
    (bench/bench_judge.py: 0.5 -> 2 % errors caught in 81 % of runs before, 99 % after)."""
    clock, windows, said, saved = FakeClock(), [], [], []
    cached_live = VariantStats(250, 0, 0, 20.0, answers=Answers(1000, 0, 0, cached=750))

    def analyse(window):
        windows.append((clock.now - 1_000_000, window))
        return analysis.Analysis(Verdict.PASS, ["ok"], cached_live, LIVE)

    actions = rollout.Actions(set_weight=lambda w: None, analyse=analyse, promote=lambda: None,
                              stop_canary=lambda: None, save=lambda s: saved.append(s.to_json()), say=said.append,
                              clock=clock, sleep=clock.sleep)
    final = rollout.execute(_state(), actions)
    assert final.status is RunStatus.PROMOTED
    gates = [at for at, _ in windows if at in (600, 1200)]
    assert gates == [600, 1200], "the first two bakes keep their 10 minutes"
    assert windows[-1] == (1200 + 1800, 1800), "the last bake ran 30 minutes and the gate looked at all of it"
    assert max(window for at, window in windows if at <= 1200) == 600
    assert sum("the last bake runs 3.0x as long" in line for line in said) == 1
    assert saved[-1]["bakeFactor"] == 3.0 and RunState.from_json(saved[-1]).bake_factor == 3.0


def test_a_resumed_run_starts_at_the_recorded_step():
    final, log, _ = _run([Verdict.PASS] * 20, _state(position=6))  # the third weight's record
    assert [line for line in log if line.startswith("weight")] == ["weight 50"]
    assert final.status is RunStatus.PROMOTED


def test_cloudwatch_reads_per_variant_sums_and_p99():
    """Only whole minutes that are over and published count: at 12:00:00 with a 10-minute window,
    11:50 to 11:59 (core.metrics.published_minutes); the p99 is one period over all of them."""
    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    source = CloudWatchMetrics(client, now=lambda: now)
    dimensions = [{"Name": "EndpointName", "Value": "ratings-prod"}, {"Name": "VariantName", "Value": "v2"}]
    with Stubber(client) as stub:
        for metric, value in (("Invocations", 300.0), ("Invocation4XXErrors", 6.0), ("Invocation5XXErrors", 1.0)):
            stub.add_response("get_metric_statistics", {"Datapoints": [{"Sum": value / 2}, {"Sum": value / 2}]},
                              {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dimensions,
                               "StartTime": now - dt.timedelta(seconds=600), "EndTime": now - dt.timedelta(minutes=1),
                               "Period": 60, "Statistics": ["Sum"]})
        stub.add_response("get_metric_statistics",
                          {"Datapoints": [{"ExtendedStatistics": {"p99": 12000.0}},
                                          {"ExtendedStatistics": {"p99": 8000.0}}]},
                          {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": dimensions,
                           "StartTime": now - dt.timedelta(seconds=600), "EndTime": now - dt.timedelta(minutes=1),
                           "Period": 540, "ExtendedStatistics": ["p99"]})
        # the samples' percentile ranks at the judge's edges: 293 samples, 80 % at or under 4 ms,
        # all at or under 11.3 ms (the ranks CloudWatch estimates need not give whole counts)
        ranks = [0.0] * 4 + [80.0] * 3 + [100.0] * 26  # edges 1, 1.4, 2, 2.8 | 4, 5.7, 8 | 11.3 ms ...
        stub.add_response("get_metric_data", {"MetricDataResults": [
            {"Id": "n", "Values": [293.0]}, *({"Id": f"r{i}", "Values": [rank]} for i, rank in enumerate(ranks))]},
            {"MetricDataQueries": [
                {"Id": key, "MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency",
                                                      "Dimensions": dimensions}, "Period": 540, "Stat": stat}}
                for key, stat in [("n", "SampleCount"), *((f"r{i}", f"PR(:{edge:g})") for i, edge in
                                                           enumerate(LATENCY_EDGES_US))]],
             "StartTime": now - dt.timedelta(seconds=600), "EndTime": now - dt.timedelta(minutes=1)})
        assert source.variant_stats("ratings-prod", "v2", 600) == VariantStats(
            300, 6, 1, 12.0, {2828.0: 234, 8000.0: 59})


@pytest.mark.parametrize(("minutes", "p99_ms"), [
    ([], None),
    ([(8000.0, 300)], 8.0),
    # a quiet minute's "p99" is its slowest request: it weighs by the requests it served
    ([(8000.0, 990), (208000.0, 10)], 10.0),
])
def test_the_window_p99_weighs_each_minute_by_its_samples(minutes, p99_ms):
    assert window_p99(minutes) == p99_ms


@pytest.mark.parametrize(("now", "window", "minutes"), [
    (720.0, 600.0, (120, 660)),  # 12 min: 2 .. 11, the minute that just ended not yet published
    (735.0, 600.0, (180, 660)),  # 12:15: the window began at 2:15, so minute 2 held earlier traffic
    (735.0, 45.0, None),  # a step 45 s old: no whole minute of its own yet
    (735.0, 120.0, None),  # 2 min old: minute 11 is over but not published
    (800.0, 200.0, (600, 720)),  # a window that begins on a minute keeps that minute
])
def test_only_whole_published_minutes_after_the_window_begins_count(now, window, minutes):
    assert published_minutes(now, window, delay_seconds=60) == minutes


def test_cloudwatch_errors_are_metrics_errors():
    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("get_metric_statistics", "AccessDenied", "not allowed")
        with pytest.raises(MetricsError, match="cannot read CloudWatch metric Invocations of ratings-prod/v2"):
            CloudWatchMetrics(client).variant_stats("ratings-prod", "v2", 600)


def test_cloudwatch_counts_under_moto(monkeypatch):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        now = dt.datetime.now(dt.UTC)
        dimensions = [{"Name": "EndpointName", "Value": "ratings-prod"}, {"Name": "VariantName", "Value": "v2"}]
        client.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": now - dt.timedelta(minutes=2)}
            for name, value in (("Invocations", 240), ("Invocation4XXErrors", 4), ("Invocation5XXErrors", 2))])
        stats = CloudWatchMetrics(client).variant_stats("ratings-prod", "v2", 600)
    # moto answers sums but not percentiles, so the p99 path is covered by the Stubber test above
    assert (stats.requests, stats.errors_4xx, stats.errors_5xx) == (240, 4, 2)
    assert analysis.judge(LIVE, stats, Thresholds()).verdict is Verdict.PASS


def test_the_apis_answers_per_version_are_read_from_the_access_log_filters_metrics(monkeypatch):
    """As the stack's metric filters publish them (core.access_log): the candidate's answers, its
    gateway timeouts among them, beside what its model counted; a hang fails on both."""
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
        for version, invocations, answers, errors, timeouts in (("v1", 800, 800, 0, 0), ("v2", 40, 200, 160, 160)):
            variant = [{"Name": "EndpointName", "Value": "ratings-prod"}, {"Name": "VariantName", "Value": version}]
            client.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
                {"MetricName": "Invocations", "Dimensions": variant, "Value": invocations, "Timestamp": at}])
            counted = [{"Name": "Stage", "Value": "prod"}, {"Name": "Version", "Value": version}]
            client.put_metric_data(Namespace="RatingsApi/ratings-prod", MetricData=[
                {"MetricName": metric, "Dimensions": counted, "Value": value, "Timestamp": at}
                for metric, value in (("Answers", answers), ("ServerErrors", errors), ("IntegrationTimeouts", timeouts))
                if value])
        source = CloudWatchMetrics(client, answers=AnswerCounts("RatingsApi/ratings-prod", "prod"))
        live, candidate = (source.variant_stats("ratings-prod", version, 600) for version in ("v1", "v2"))
        uncounted = CloudWatchMetrics(client, answers=AnswerCounts("RatingsApi/ratings-prod", "beta"))
        assert uncounted.variant_stats("ratings-prod", "v2", 600).answers is None, "no filter counted that stage"
    assert candidate.answers == Answers(200, 0, 160, 160) and candidate.requests == 40
    result = analysis.judge(live, candidate, Thresholds(), share=0.2)
    assert {check.metric for check in result.checks if check.failed} == {"5xx rate", "answered share"}


def test_a_gateway_count_short_of_the_models_is_not_judged():
    """A sticky canary's lines are counted for no version (the access log cannot see the template's
    split), so a count well short of the model's own falls back to the model's."""
    live = VariantStats(800, 0, 0, 20.0, answers=Answers(800, 0, 0))
    candidate = VariantStats(200, 0, 0, 20.0, answers=Answers(3, 0, 3))
    result = analysis.judge(live, candidate, Thresholds())
    assert result.verdict is Verdict.PASS and result.checks[0].candidate == "0.00% (0 of 200)"


def test_status_says_how_to_continue_a_run_whose_process_is_gone():
    from canary import report

    state = _state()
    state.pid = 2**22 + 12345
    lines = report.run_lines(state, alive=False)
    assert "its process 4206649 is gone: `canary --stack local run --resume` continues it" in "\n".join(lines)
    state.bake_factor = 3.0
    assert "the last bake runs 30m (3.0x)" in "\n".join(report.run_lines(state, alive=True))


def _histogram(draw, size: int, scale_ms: float, slower: float = 1.0) -> dict[float, int]:
    """Lognormal latencies bucketed as the local runtime buckets them."""
    histogram = LatencyHistogram()
    for value in draw.lognormal(np.log(scale_ms * 1000 * slower), 0.4, size):
        histogram.add(value)
    return histogram.sparse()


@pytest.mark.parametrize(("slower", "verdict"), [(1.0, Verdict.PASS), (1.5, Verdict.FAIL)])
def test_latency_with_histograms_compares_the_share_of_slow_requests(slower, verdict):
    """Where histograms are kept (locally), the candidate's share of requests over live's p95 is
    tested against live's, allowing for small samples: as fast as live it passes, 50 % slower it fails."""
    draw = np.random.default_rng(8)
    live = VariantStats(4000, 0, 0, 60.0, _histogram(draw, 4000, 30.0))
    candidate = VariantStats(400, 0, 0, 60.0, _histogram(draw, 400, 30.0, slower))
    result = analysis.judge(live, candidate, Thresholds())
    assert result.verdict is verdict, result.reasons
    if verdict is Verdict.FAIL:
        assert result.reasons[0].startswith("candidate slower: ") and "against live's" in result.reasons[0]


def test_models_faster_than_the_floor_are_not_failed_with_histograms_either():
    draw = np.random.default_rng(9)
    live = VariantStats(2000, 0, 0, 6.0, _histogram(draw, 2000, 3.0))
    candidate = VariantStats(400, 0, 0, 9.0, _histogram(draw, 400, 3.0, 1.6))
    assert analysis.judge(live, candidate, Thresholds()).verdict is Verdict.PASS


def test_a_steps_baseline_is_taken_off_the_histogram_too():
    now = VariantStats(300, 0, 0, 30.0, {1000.0: 200, 2000.0: 100})
    before = VariantStats(100, 0, 0, 30.0, {1000.0: 100})
    assert analysis.since(now, before).latency_histogram == {1000.0: 100, 2000.0: 100}


def test_a_hang_fails_on_the_gateways_timeouts_and_on_the_missing_traffic():
    """What the gateway answered is judged where it is counted: the candidate's requests that timed
    out never reached its model's counts, and the verdict names both the timeouts and the gap."""
    live = VariantStats(800, 0, 0, 20.0, answers=Answers(800, 0, 0))
    candidate = VariantStats(40, 0, 0, 20.0, answers=Answers(200, 0, 160, timeouts=160))
    result = analysis.judge(live, candidate, Thresholds(), share=0.2)
    assert result.verdict is Verdict.FAIL
    assert result.reasons[0].startswith("candidate 5xx rate 80.00% (160 of 200, 160 gateway timeouts) is over 1.5x "
                                        "live's 0.00% (0 of 800); requests lost (timeouts, a hang or crash?): its "
                                        "model answered 40 of the 200 sent to it; evidence")
    assert "where its weight sends it 20.0%: requests lost (timeouts, a hang or crash?) (160 gateway timeouts)" \
        in result.reasons[1]
    assert [check.metric for check in result.checks if check.failed] == ["5xx rate", "answered share"]


def test_without_the_gateways_counts_for_both_the_models_are_judged():
    live = VariantStats(800, 0, 0, 20.0, answers=Answers(800, 0, 0))
    candidate = VariantStats(200, 0, 0, 20.0)  # a source that does not count the gateway's answers
    result = analysis.judge(live, candidate, Thresholds())
    assert result.verdict is Verdict.PASS and result.checks[0].candidate == "0.00% (0 of 200)"


def test_a_steps_baseline_is_taken_off_the_gateways_answers_too():
    now = VariantStats(300, 0, 0, 30.0, answers=Answers(400, 4, 100, 90))
    before = VariantStats(100, 0, 0, 30.0, answers=Answers(150, 1, 10, 5))
    assert analysis.since(now, before).answers == Answers(250, 3, 90, 85)
    assert analysis.since(now, VariantStats(100, 0, 0, 30.0)).answers == now.answers


def test_the_metrics_document_carries_the_gateways_answers_per_minute():
    document = {"EndpointName": "ratings-local", "Variants": {"v2": [
        {"Timestamp": 60, "Invocations": 5, "Invocation4XXErrors": 0, "Invocation5XXErrors": 0, "ModelLatency": None,
         "Gateway": {"Count": 9, "4XXError": 1, "5XXError": 3, "IntegrationTimeouts": 3}},
        {"Timestamp": 120, "Invocations": 2, "Invocation4XXErrors": 0, "Invocation5XXErrors": 0,
         "ModelLatency": None}]}}
    snapshot = Snapshot.from_json(document)
    assert snapshot.stats("v2").answers == Answers(9, 1, 3, 3)
    assert Snapshot.from_json(snapshot.to_json()) == snapshot
