"""`canary run` and `status` on a cloud stack against the behaviour model: each step a real `pulumi
up` of the program (tests/aws/pulumi_engine.py), metrics read with a real boto3 CloudWatch client
from a CloudWatch that publishes minutes late (tests/aws/cloudwatch.py), API traffic split as the
stage in API Gateway says (tests/aws/apigateway.py), which `status` reads with GetStage."""

from __future__ import annotations

import json
import random
import shutil

import boto3
import pytest
import yaml
from click.testing import CliRunner

from canary import cli, cloud, service, stacks
from canary.backends import CloudBackend
from canary.cli_options import EXIT_FAIL, EXIT_INCONCLUSIVE, cloud_options, console_for
from canary.metrics_sources import AnswerCounts, ApiGatewayStages, CloudWatchMetrics
from canary.run_registry import SsmRegistry
from core import names, run_state
from core.run_state import RunStatus
from tests.aws import clients
from tests.aws.cloudwatch import CloudWatch
from tests.aws.pulumi_engine import ModelledStack
from tests.aws.sagemaker import SageMaker
from tests.canary_fakes import QuietConsole
from tests.stacks import ROOT

# a cloud stack's run is held in SSM Parameter Store (canary/run_registry.py), here under moto
pytestmark = pytest.mark.usefixtures("moto_ssm")

ENDPOINT = "ratings-prod"
ANSWERS = AnswerCounts(names.answers_namespace(ENDPOINT), "prod")  # where the stack's metric filters count
START = 1_796_000_410.0  # ten seconds past a minute


class Account:
    """SageMaker and CloudWatch of one account, the prod stack deployed, and its API traffic."""

    def __init__(self, project, rate: float = 20.0, failing: dict[str, float] | None = None):
        self.project, self.now, self.rate = project, START, rate
        self.failing = failing or {}  # version -> share of its answers that are 5xx
        self.hanging: set[str] = set()  # versions whose model never answers: API Gateway's 504 after 29 s
        self.slower: dict[str, float] = {}  # version -> factor on its model latency
        self.cache_hits = 0.0  # share of live's requests the stage cache answers (api.cache)
        self.sagemaker = SageMaker()
        self.cloudwatch = CloudWatch(clock=lambda: self.now)
        self.stack = ModelledStack(project, "prod", self.sagemaker)
        self.stack.up()
        self.draw = random.Random(7)

    def backend(self, host: str | None = None) -> CloudBackend:
        """The stack as an operator on ``host`` (default: this machine) reaches it."""
        probe = cloud.SageMakerProbe(clients.client("sagemaker", self.sagemaker.handlers()))
        account = self

        class Modelled(CloudBackend):
            def metrics(self, config):
                return CloudWatchMetrics(clients.client("cloudwatch", account.cloudwatch.handlers()),
                                         now=lambda: _utc(account.now), answers=ANSWERS)

            def stages(self, config):
                return ApiGatewayStages(clients.client("apigateway", account.stack.apigateway.handlers()))

            def registry(self, config):
                return SsmRegistry(boto3.client("ssm", region_name="eu-west-1"), ENDPOINT, clock=lambda: account.now,
                                   host=host)

        return Modelled(stacks.PulumiStack("prod", self.project, select_stack=lambda n, d: self.stack,
                                           probe_for_region=lambda region: probe))

    def served(self) -> tuple[str, str | None, float]:
        """Live version, candidate and share as API Gateway holds the stage."""
        (stage,) = self.stack.apigateway.stages.values()
        canary = stage.get("canarySettings") or {}
        return (stage["variables"]["variant"], (canary.get("stageVariableOverrides") or {}).get("variant"),
                float(canary.get("percentTraffic", 0.0)))

    def sleep(self, seconds: float) -> None:
        """Time passes, and API traffic with it, split as the stage routes it."""
        end = self.now + seconds
        while self.now < end:
            step = min(1.0, end - self.now)
            self.traffic(step)
            self.now += step

    def traffic(self, seconds: float) -> None:
        live, candidate, percent = self.served()
        for _ in range(round(self.rate * seconds)):
            version = candidate if candidate and self.draw.random() * 100 < percent else live
            self.invoke(version)

    def invoke(self, version: str) -> None:
        """One request the stage sent to ``version``: its access-log line, and the model's
        invocation as SageMaker counts it unless the model hangs (the gateway times it out)."""
        if version in self.hanging:
            self.cloudwatch.answered(ANSWERS.namespace, ANSWERS.stage, version, 504, True, self.now)
            return
        live, _, _ = self.served()
        if self.cache_hits and version == live and self.draw.random() < self.cache_hits:
            self.cloudwatch.answered(ANSWERS.namespace, ANSWERS.stage, version, 200, False, self.now, cached=True)
            return
        status = 500 if self.draw.random() < self.failing.get(version, 0.0) else 200
        latency_us = self.draw.uniform(3000, 6000) * self.slower.get(version, 1.0)
        self.cloudwatch.invoked(ENDPOINT, version, status, latency_us, self.now)
        self.cloudwatch.answered(ANSWERS.namespace, ANSWERS.stage, version, 502 if status == 500 else 200, False,
                                 self.now)

    def collaborators(self, host: str | None = None) -> service.Collaborators:
        return service.Collaborators(self.backend(host), QuietConsole(), cloud.CloudOptions(yes=True),
                                     clock=lambda: self.now, sleep=self.sleep)

    def canary(self, monkeypatch, *args: str):
        """The real `canary --stack prod` command, in this account's time."""
        monkeypatch.setattr(cli, "for_stack", lambda name, project_dir: self.backend())
        monkeypatch.setattr(cli, "collaborators_for", lambda ctx, as_json, events=False: service.Collaborators(
            ctx.backend, console_for(as_json, events), cloud_options(), clock=lambda: self.now, sleep=self.sleep))
        return CliRunner().invoke(cli.main, ["--project-dir", str(self.project), "--stack", "prod", *args])

    def canary_run(self, monkeypatch, *flags: str):
        return self.canary(monkeypatch, "run", "v2", "--steps", "10,50", "--bake", "5m", "--interval", "30s",
                           "--min-requests", "50", "--yes", *flags)

    def routing(self) -> dict:
        return yaml.safe_load((self.project / "Pulumi.prod.yaml").read_text())["config"]["ratings:routing"]

    def run(self, version: str = "v2", **flags) -> object:
        c = self.collaborators()
        request = service.RunRequest(version, [10, 50], 300.0, 30.0, 0, 600.0, False,
                                     {"min_requests": 50, **flags})
        return service.run(c, service.prepare_run(c, request))


def _utc(epoch: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC)


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path)
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("    canary:\n      version: v2\n      percent: 10\n      mode: request\n",
                                             ""))
    return tmp_path


def test_a_healthy_candidate_is_promoted_once_published_minutes_show_it(project):
    account = Account(project)
    final = account.run()
    assert final.status is RunStatus.PROMOTED, final.reason
    first = final.verdicts[0]
    assert (first.kind, first.verdict) == ("interval", "inconclusive"), \
        "30 s after the weight is set no minute of its own is published yet: nothing to judge, nothing failed"
    assert account.served() == ("v2", None, 0.0)


def test_failures_from_before_the_step_are_not_counted(project):
    """The candidate failed every request it got (a smoke test, the quality gate's batch) in the
    minute before the run sets its weight: that minute is not the canary's."""
    account = Account(project)
    for _ in range(300):
        account.failing["v2"] = 1.0
        account.invoke("v2")
    account.failing["v2"] = 0.0
    account.sleep(5)
    final = account.run()
    assert final.status is RunStatus.PROMOTED, final.reason


def test_a_healthy_candidate_is_promoted_by_the_command(project, monkeypatch):
    account = Account(project)
    result = account.canary_run(monkeypatch)
    assert result.exit_code == 0, result.output
    assert account.routing()["live"] == "v2" and "canary" not in account.routing()
    assert account.served() == ("v2", None, 0.0)


def test_a_run_in_ci_speaks_one_json_event_per_line(project, monkeypatch):
    """Unattended (`--yes --json`, as examples/github-actions runs it): every line of standard
    output is one JSON event, the last one the run's record, and the exit code says how it ended."""
    account = Account(project)
    result = account.canary_run(monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {item["event"] for item in events[:-1]} == {"message"}
    assert any(item["text"] == "step 2/2: set canary weight to 50 %" for item in events[:-1])
    assert events[-1]["event"] == "ended" and events[-1]["run"]["status"] == "promoted"


def test_a_failing_candidate_is_rolled_back_on_published_minutes(project, monkeypatch):
    account = Account(project, failing={"v2": 0.2})
    result = account.canary_run(monkeypatch)
    assert result.exit_code == EXIT_FAIL, result.output
    assert "candidate 5xx rate" in result.output
    assert account.routing() == {"live": "v1"}, "the stack file is back to live v1, no canary"
    assert account.served() == ("v1", None, 0.0), "the stage no longer sends anything to v2"


def test_a_candidate_that_hangs_is_rolled_back_on_the_apis_answers(project, monkeypatch):
    """Its model answers nothing, so SageMaker's metrics show only a quiet candidate; the access
    log's filters count the gateway's 504s against it, and the verdict names them."""
    account = Account(project)
    account.hanging.add("v2")
    result = account.canary_run(monkeypatch)
    assert result.exit_code == EXIT_FAIL, result.output
    assert "gateway timeouts)" in result.output and "requests lost" in result.output
    assert account.routing() == {"live": "v1"} and account.served() == ("v1", None, 0.0)


def test_a_slower_candidate_is_rolled_back_on_its_share_of_slow_requests(project, monkeypatch):
    """CloudWatch keeps no histogram, but answers the percentile rank of any latency (PR(:T)): the
    judge compares the versions' shares of slow requests as it does locally."""
    account = Account(project)
    account.slower["v2"] = 10.0  # 30-60 ms where live answers in 3-6 ms, over the 20 ms floor
    result = account.canary_run(monkeypatch)
    assert result.exit_code == EXIT_FAIL, result.output
    assert "candidate slower: 100.0% of its requests" in result.output
    assert account.routing() == {"live": "v1"}


def test_without_traffic_the_gate_is_inconclusive_and_the_candidate_rolled_back(project, monkeypatch):
    account = Account(project, rate=0.0)
    result = account.canary_run(monkeypatch)
    assert result.exit_code == EXIT_INCONCLUSIVE, result.output
    assert "inconclusive" in result.output and account.routing() == {"live": "v1"}
    assert account.served() == ("v1", None, 0.0)


def test_a_metrics_outage_rolls_the_candidate_back(project, monkeypatch):
    account = Account(project)
    account.cloudwatch.out = True
    result = account.canary_run(monkeypatch)
    assert result.exit_code == 1, result.output
    assert "cannot read CloudWatch metric Invocations" in result.output and "ServiceUnavailable" in result.output
    assert account.routing() == {"live": "v1"} and account.served() == ("v1", None, 0.0)


def test_datapoints_later_than_assumed_cost_requests_not_a_false_rollback(project, monkeypatch):
    """CloudWatch publishes minutes three minutes late where the run assumes one: the minutes not
    yet there read as fewer requests, never as failures, and a healthy candidate goes live."""
    account = Account(project)
    account.cloudwatch.delay_seconds = 180.0
    result = account.canary_run(monkeypatch)
    assert result.exit_code == 0, result.output
    assert account.routing()["live"] == "v2"


def _status(account: Account) -> service.Status:
    return service.status(account.collaborators(), {}, 600.0)


def test_status_reads_the_stage_api_gateway_serves(project):
    account = Account(project)
    account.sleep(120)
    calls = len(account.stack.apigateway.calls)
    assert _status(account).served_drift is None
    assert account.stack.apigateway.calls[calls:] == ["GetStage"], "one read when the stage agrees with the file"


def test_status_warns_of_a_stage_changed_outside_the_stack(project):
    """Someone moved the canary in the console: Pulumi's state still says what the file says, only
    GetStage tells."""
    account = Account(project)
    (api, stage), = account.stack.apigateway.stages
    account.stack.apigateway.update_stage(api, stage, [
        {"op": "replace", "path": "/canarySettings/stageVariableOverrides/variant", "value": "v2"},
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50"}])
    drift = _status(account).served_drift
    assert drift is not None and drift.startswith(
        "warning: the API Gateway stage routes live v1, canary v2 at 50 %, not what Pulumi.prod.yaml says "
        "(live v1, no canary)")
    assert "`pulumi up --refresh` puts the file's routing back" in drift


def test_a_throttled_stage_read_is_said_and_the_metrics_still_shown(project):
    account = Account(project)
    account.sleep(150)
    account.stack.apigateway.faults.throttled_calls = 1
    found = _status(account)
    assert found.metrics_error is None and found.traffic["v1"].requests > 0
    assert found.served_drift is not None and found.served_drift.startswith(
        "note: what the API Gateway stage routes was not read (cannot read stage prod of REST API")
    assert "(GetStage): An error occurred (TooManyRequestsException)" in found.served_drift


def test_a_watching_status_asks_pulumi_for_the_apis_id_once(project, monkeypatch):
    """`status --watch` reads the stage every refresh; the REST API's id comes from the stack's
    outputs (a Pulumi CLI call) only the first time."""
    account = Account(project)
    backend = account.backend()
    asked: list[str] = []
    real = backend.stack.output
    monkeypatch.setattr(backend.stack, "output", lambda name: (asked.append(name), real(name))[1])
    config = backend.stack.read().config
    assert backend.served(config) == backend.served(config)
    assert asked == ["rest_api_id"] and account.stack.apigateway.calls[-2:] == ["GetStage", "GetStage"]


def _recording_ups(account: Account) -> list[str]:
    """API Gateway's calls and the stack's `pulumi up`s, in the order they happen."""
    order = account.stack.apigateway.calls
    real_up = account.stack.up

    def up(*args, **kwargs):
        order.append("pulumi up")
        return real_up(*args, **kwargs)

    account.stack.up = up
    return order


def test_a_moved_share_survives_a_pulumi_up_of_the_file_the_run_started_from(project, monkeypatch):
    """CI applies the committed stack file mid-run (it declares the candidate at its first step):
    the share the run moved on the stage stays, because the Stage ignores it and stage.go patches
    only what changed."""
    account = Account(project)
    assert account.canary(monkeypatch, "start", "v2", "--percent", "10", "--yes").exit_code == 0
    committed = (project / "Pulumi.prod.yaml").read_text()
    moved = account.canary(monkeypatch, "set", "--percent", "50", "--yes")
    assert moved.exit_code == 0, moved.output
    assert account.stack.apigateway.updates[-1] == [
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "50.000000"}], "one direct call"
    assert account.routing()["canary"]["percent"] == 50, "the file records the share"
    (project / "Pulumi.prod.yaml").write_text(committed)
    updates = len(account.stack.apigateway.updates)
    account.stack.up()
    assert account.served() == ("v1", "v2", 50.0)
    assert not any("percentTraffic" in op["path"] for ops in account.stack.apigateway.updates[updates:] for op in ops)


def test_an_abort_stops_the_candidate_with_one_stage_call_before_any_pulumi_operation(project, monkeypatch):
    """`canary abort` of a run whose process is gone: the candidate's share goes to 0 with one
    UpdateStage, then `pulumi up` takes the canary off the stage and puts the file in line."""
    account = Account(project)
    c = account.collaborators()
    state = service.prepare_run(c, service.RunRequest("v2", [10, 50], 300.0, 30.0, 0, 600.0, False, {}))
    assert account.canary(monkeypatch, "start", "v2", "--percent", "10", "--yes").exit_code == 0
    state.pid = 2**22 + 7  # killed outright
    run_state.save(run_state.path_for(project / "Pulumi.prod.yaml"), state)
    order = _recording_ups(account)
    before = len(order)
    ended = service.abort(account.collaborators(), 5.0)
    assert order[before:before + 2] == ["UpdateStage", "pulumi up"]
    assert account.stack.apigateway.updates[-2] == [
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.000000"}]
    assert ended.document["status"] == "rolled back" and account.served() == ("v1", None, 0.0)


def test_a_failing_verdict_stops_the_candidate_on_the_stage_before_the_rollback_update(project):
    account = Account(project, failing={"v2": 0.2})
    order = _recording_ups(account)
    final = account.run()
    assert final.status is RunStatus.ROLLED_BACK and final.ended_by == "fail"
    last_up = len(order) - 1 - order[::-1].index("pulumi up")
    assert order[last_up - 1] == "UpdateStage", order
    assert account.stack.apigateway.updates[-2] == [
        {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.000000"}]


def test_a_run_on_another_machine_is_seen_refuses_manual_changes_and_is_aborted_from_here(project):
    """A CI runner holds the stack (SSM Parameter Store, canary/run_registry.py): an operator's
    `set` on a laptop is refused naming the runner, and the operator's `abort` stops the candidate
    on the stage at once (one UpdateStage) and the run rolls back at its next look."""
    account = Account(project)
    runner, laptop = account.collaborators(host="ci-runner"), account.collaborators(host="laptop")
    said: dict[str, object] = {}
    real_sleep = account.sleep

    def sleep_then_act(seconds: float) -> None:
        real_sleep(seconds)
        if "aborted" not in said and account.served()[2] == 50.0:  # the run's second step
            with pytest.raises(service.plans.Refusal) as refused:
                service.set_percent(laptop, 20, dry_run=False)
            said["refused"] = str(refused.value)
            updates = len(account.stack.apigateway.updates)
            said["aborted"] = service.abort(laptop, 5.0)
            said["first"] = account.stack.apigateway.updates[updates]

    runner.sleep = sleep_then_act
    request = service.RunRequest("v2", [10, 50], 300.0, 30.0, 0, 600.0, False, {"min_requests": 50})
    final = service.run(runner, service.prepare_run(runner, request))
    assert "a run of v2 is in progress on stack prod (host ci-runner, process" in said["refused"]
    assert said["first"] == [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.000000"}]
    assert said["aborted"].text.startswith("the candidate v2's traffic is stopped on the stage; the run on host "
                                           "ci-runner")
    assert (final.status, final.ended_by) == (RunStatus.ROLLED_BACK, "aborted")
    assert account.served() == ("v1", None, 0.0)
    held = laptop.backend.registry(None).holder()
    assert (held.status, held.host) == ("rolled back", "ci-runner"), "every operator sees how it ended"
    names = [item["Name"] for item in boto3.client("ssm", region_name="eu-west-1").describe_parameters()["Parameters"]]
    assert names == ["/ratings/ratings-prod/canary-run/record"], "the lock is released, the record kept"



def test_with_a_stage_cache_a_healthy_candidate_is_promoted_and_the_cache_flushed(project):
    """api.cache: three in four of live's answers come from the stage cache, which the canary never
    uses; both versions fail 5 % of what their models are asked. The judge still promotes the
    candidate (counted with the cached answers, live's rate would read 1.25 % and the candidate's 5 %
    would fail it), and the promotion flushes the stage's cache (FlushStageCache)."""
    path = project / "Pulumi.prod.yaml"
    cached = "    maxItems: 100\n    cache:\n      ttlSeconds: 300\n"
    path.write_text(path.read_text().replace("    maxItems: 100\n", cached))
    account = Account(project, rate=100.0)
    account.cache_hits = 0.75
    account.failing.update({"v1": 0.05, "v2": 0.05})
    final = account.run()
    assert final.status is RunStatus.PROMOTED, final.reason
    assert account.stack.apigateway.flushes == 1 and account.served() == ("v2", None, 0.0)
