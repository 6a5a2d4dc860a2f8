"""The local gateway in-process, against a scripted runtime: error mapping and throttling."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
import uuid
from pathlib import Path

import pytest
import yaml

from core.metrics import Answers
from emulator import cognito, stage_cache, waf
from emulator import gateway_context as emulator_context
from emulator import runtime as runtime_module
from emulator.access_log import RotatingAccessLog
from emulator.constants import INVOKED_HEADER
from emulator.gateway import Gateway
from emulator.gateway_context import RequestContext
from emulator.gateway_state import StateHolder
from emulator.http import Answer
from emulator.limits import Limits
from emulator.metrics import VariantMetrics
from emulator.throttle import TokenBucket
from tests.stacks import ROOT

PATH = "/local/predicted-ratings/321"


class ScriptedRuntime:
    """Answers every invocation with one canned result and records what it was asked."""

    def __init__(self, status: int, body: dict, variant: str = "v1"):
        self.result = Answer(status, {INVOKED_HEADER: variant}, json.dumps(body).encode())
        self.calls: list[dict] = []

    async def invoke(self, endpoint, body, content_type, accept, target, caller_timeout_s=None):
        self.calls.append({"endpoint": endpoint, "body": json.loads(body), "target": target,
                           "content_type": content_type})
        return self.result


@pytest.fixture
def stack_file(tmp_path):
    target = tmp_path / "Pulumi.local.yaml"
    shutil.copy(ROOT / "Pulumi.local.yaml", target)
    return target


def _call(gateway: Gateway, query: str = "items=101,131,162&") -> tuple[int, dict, dict]:
    loop = asyncio.new_event_loop()  # not asyncio.run: it would clear the thread's loop for later tests
    try:
        answer = loop.run_until_complete(gateway.handle("GET", PATH, query, {}))
    finally:
        loop.close()
    return answer.status, answer.headers, json.loads(answer.body)


def test_success_maps_predictions_and_the_variant_header(stack_file):
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}, {"scores": [4.0]}, {"scores": [2.0]}]})
    logs: list[str] = []
    gateway = Gateway(StateHolder(stack_file), runtime, logs.append)
    status, headers, body = _call(gateway)
    assert (status, body, headers["X-Model-Version"]) == (200, {"ratings": [3.5, 4.0, 2.0]}, "v1")
    call = runtime.calls[0]
    assert call["endpoint"] == "ratings-local" and call["content_type"] == "application/json"
    assert call["target"] in {"v1", "v2"} and len(call["body"]["instances"]) == 3
    line = json.loads(logs[0])
    assert {"requestId", "status", "latencyMs", "variant", "isCanary", "stage"} <= set(line)
    assert line["targetVariant"] == call["target"]


class HangingRuntime(ScriptedRuntime):
    async def invoke(self, endpoint, body, content_type, accept, target, caller_timeout_s=None):
        await asyncio.sleep(5)


def test_a_timed_out_request_is_logged_with_the_version_it_was_sent_to(stack_file):
    """The runtime never answered, so no version is named as having answered; the version the
    request was sent to is, so a hang shows against the right version in the access log."""
    logs: list[str] = []
    gateway = Gateway(StateHolder(stack_file), HangingRuntime(200, {}), logs.append,
                      Limits(integration_timeout_s=0.05))
    status, _, _ = _call(gateway)
    line = json.loads(logs[0])
    assert (status, line["variant"], line["errorType"]) == (504, "", "INTEGRATION_TIMEOUT")
    assert line["targetVariant"] in {"v1", "v2"}


def test_every_answer_counts_against_the_version_it_was_sent_to(stack_file):
    """A hung model's requests end as the gateway's 504s: absent from the model's own counts, they
    are in the answers the gateway counts per target version (what the judge reads), timeouts named;
    a request refused before a version was chosen counts against none."""
    metrics = VariantMetrics("ratings-local", clock=lambda: 600.0)
    gateway = Gateway(StateHolder(stack_file), HangingRuntime(200, {}), lambda line: None,
                      Limits(integration_timeout_s=0.05), answers=metrics)
    assert [_call(gateway)[0] for _ in range(3)] == [504] * 3
    assert _call(gateway, "")[0] == 400  # no items: refused by the validator, before the draw
    counted = {name: stats.answers for name in ("v1", "v2")
               if (stats := metrics.snapshot().stats(name)).answers is not None}
    assert sum(answers.requests for answers in counted.values()) == 3
    assert all(answers.errors_5xx == answers.timeouts == answers.requests for answers in counted.values())
    assert all(metrics.snapshot().stats(name).requests == 0 for name in counted), "the model counted none"


def _requiring_a_key(stack_file, quota: dict | None = None) -> None:
    values = yaml.safe_load(stack_file.read_text())
    api = values["config"]["ratings:api"]
    api["auth"] = "api_key"
    if quota:
        api["quota"] = quota
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))


def _call_with(gateway: Gateway, headers: dict) -> tuple[int, dict]:
    loop = asyncio.new_event_loop()
    try:
        answer = loop.run_until_complete(gateway.handle("GET", PATH, "items=101", headers))
    finally:
        loop.close()
    return answer.status, json.loads(answer.body)


def test_a_stage_that_requires_an_api_key_answers_as_api_gateway_does(stack_file):
    """auth: api_key locally: no key or a wrong one is INVALID_API_KEY (403 Forbidden, the stage's
    JSON gateway response); the key is let through; past the usage plan's quota, QUOTA_EXCEEDED
    (429 Limit Exceeded) ("Gateway response types for API Gateway")."""
    _requiring_a_key(stack_file, {"limit": 2, "period": "DAY"})
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]})
    key = "k" * 20 + "-local-test-key"
    gateway = Gateway(StateHolder(stack_file), runtime, lambda line: None, api_key=key)
    forbidden = (403, {"message": "Forbidden", "type": "INVALID_API_KEY"})  # the stage's JSON gateway response
    assert _call_with(gateway, {}) == forbidden
    assert _call_with(gateway, {"x-api-key": key + "x"}) == forbidden
    assert runtime.calls == [], "refused before the integration"
    assert [_call_with(gateway, {"X-API-Key": key})[0] for _ in range(2)] == [200, 200]
    assert _call_with(gateway, {"x-api-key": key}) == (429, {"message": "Limit Exceeded", "type": "QUOTA_EXCEEDED"})


def test_the_waf_rate_rule_blocks_a_client_past_its_limit_in_five_minutes(stack_file):
    """api.waf locally: AWS WAF's rate rule per client IP, answered with API Gateway's WAF_FILTERED
    gateway response (403 Forbidden, "Gateway response types for API Gateway"), before the stage."""
    values = yaml.safe_load(stack_file.read_text())
    values["config"]["ratings:api"]["waf"] = {"rateLimitPer5Min": 10}
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]})
    gateway = Gateway(StateHolder(stack_file), runtime, lambda line: None)
    now = [1000.0]
    gateway.waf = waf.RateRule(clock=lambda: now[0])

    def status(ip: str = "203.0.113.7") -> tuple[int, dict]:
        loop = asyncio.new_event_loop()
        try:
            answer = loop.run_until_complete(gateway.handle("GET", PATH, "items=101", {}, source_ip=ip))
        finally:
            loop.close()
        return answer.status, json.loads(answer.body)

    assert [status()[0] for _ in range(10)] == [200] * 10
    assert status() == (403, {"message": "Forbidden", "type": "WAF_FILTERED"})
    assert len(runtime.calls) == 10, "blocked before the integration"
    assert status("198.51.100.1")[0] == 200, "the limit is per client IP"
    now[0] += 300
    assert status()[0] == 200, "five minutes later the client's count has fallen under the limit"


POOL_ARN = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123"


def _token(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_cognito_stage_wants_an_id_token_of_its_pool(stack_file):
    """auth: cognito locally: the UNAUTHORIZED gateway response (401 Unauthorized, "Gateway response
    types for API Gateway") without a token of the pool; an expired one is said so; a good one
    (signature not checked locally), bare or after "Bearer", gets through."""
    values = yaml.safe_load(stack_file.read_text())
    values["config"]["ratings:api"].update({"auth": "cognito", "cognito": {"userPoolArn": POOL_ARN}})
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]})
    gateway = Gateway(StateHolder(stack_file), runtime, lambda line: None)
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    good = {"iss": issuer, "token_use": "id", "exp": time.time() + 600, "sub": "u1"}
    unauthorized = (401, {"message": "Unauthorized", "type": "UNAUTHORIZED"})
    assert _call_with(gateway, {}) == unauthorized
    assert _call_with(gateway, {"Authorization": "not-a-jwt"}) == unauthorized
    assert _call_with(gateway, {"Authorization": _token({**good, "iss": issuer + "x"})}) == unauthorized
    assert _call_with(gateway, {"Authorization": _token({**good, "token_use": "access"})}) == unauthorized
    assert _call_with(gateway, {"Authorization": _token({**good, "exp": time.time() - 1})}) == \
        (401, {"message": "The incoming token has expired", "type": "UNAUTHORIZED"})
    assert runtime.calls == [], "refused before the integration"
    assert _call_with(gateway, {"Authorization": _token(good)})[0] == 200
    assert _call_with(gateway, {"Authorization": "Bearer " + _token(good)})[0] == 200
    pool = StateHolder(stack_file).state.config.api.cognito
    assert _call_with(gateway, {"Authorization": cognito.local_token(pool, time.time())})[0] == 200, \
        "the token the banner prints is accepted"


def test_a_stage_without_keys_lets_every_request_through(stack_file):
    gateway = Gateway(StateHolder(stack_file), ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]}),
                      lambda line: None, api_key="k" * 24)
    assert _call_with(gateway, {})[0] == 200


def test_a_full_queue_in_the_runtime_says_it_is_throttling(stack_file):
    """The runtime's own answer when a variant's queue is full reaches the client as a throttle
    (503, "too many requests"), not as the generic failure: the error template reads the kind
    from the body (``__type``), where it cannot read the x-amzn-ErrorType header."""
    throttled = runtime_module._error(429, "ThrottlingException", runtime_module.THROTTLED.format(
        variant="v1", waiting=2048))
    status, _, body = _call(Gateway(StateHolder(stack_file), ScriptedRuntime(429, json.loads(throttled.body))))
    assert (status, body) == (503, {"message": "too many requests; retry later"})


def test_a_full_disk_for_the_access_log_never_reaches_an_answer(stack_file, caplog):
    """/dev/full fails every write with ENOSPC, as a full disk does: the answers stay 200, the
    lines lost are counted on /metrics and the console hears it once."""
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]})
    metrics = VariantMetrics("ratings-local", clock=lambda: 600.0)
    log = RotatingAccessLog(Path("/dev/full"))
    gateway = Gateway(StateHolder(stack_file), runtime, log.write, answers=metrics)
    with caplog.at_level("WARNING", logger="ratings.gateway"):
        statuses = [_call(gateway, "items=101")[0] for _ in range(5)]
    assert statuses == [200] * 5
    assert metrics.snapshot().to_json()["AccessLogWriteFailures"] == 5
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "the access log cannot be written ([Errno 28]" in caplog.records[0].message


@pytest.mark.parametrize(("status", "body", "client_status"), [
    (424, {"ErrorCode": "ModelError", "OriginalStatusCode": 400, "OriginalMessage": "items[0]: 'x' is bad"}, 400),
    (424, {"ErrorCode": "ModelError", "OriginalStatusCode": 500, "OriginalMessage": "crashed"}, 502),
    (400, {"message": "The variant 'v9' does not exist"}, 500),
    (429, {"message": "Model not ready"}, 503),
    (503, {"message": "Service unavailable"}, 503),
    (500, {"message": "InternalFailure"}, 502),
])  # the full table, checked against the deployed document too, is tests/test_error_contract.py
def test_runtime_errors_map_to_client_statuses(stack_file, status, body, client_status):
    gateway = Gateway(StateHolder(stack_file), ScriptedRuntime(status, body), lambda line: None)
    got_status, headers, got_body = _call(gateway)
    assert got_status == client_status and headers["Content-Type"] == "application/json"
    assert got_body["message"]


def test_stage_throttling_answers_429(stack_file):
    text = stack_file.read_text().replace("rateLimit: 2000", "rateLimit: 1")
    stack_file.write_text(text.replace("burstLimit: 4000", "burstLimit: 2"))
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.0]}]})
    gateway = Gateway(StateHolder(stack_file), runtime, lambda line: None)
    statuses = [_call(gateway, "items=1")[0] for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429]


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 0.5  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]


def test_metrics_are_kept_per_variant_and_minute():
    now = [120.0]
    metrics = VariantMetrics("ratings-local", clock=lambda: now[0])
    for status, latency in ((200, 100.0), (200, 300.0), (400, 50.0), (500, 80.0)):
        metrics.record("v2", status, latency)
    now[0] = 185.0
    metrics.record("v2", 200, 200.0)
    periods = metrics.snapshot().to_json()["Variants"]["v2"]
    assert [p["Timestamp"] for p in periods] == [120, 180]
    first = periods[0]
    assert (first["Invocations"], first["Invocation4XXErrors"], first["Invocation5XXErrors"]) == (4, 1, 1)
    assert first["ModelLatency"]["Maximum"] == 300.0
    assert [p["Timestamp"] for p in metrics.snapshot(since=181.0).to_json()["Variants"]["v2"]] == [180]


def test_the_stage_cache_answers_repeats_within_its_ttl_and_empties_on_a_flip(stack_file):
    """api.cache locally: a repeated (user, items) request inside the TTL is the cache's answer (no
    invocation; counted as cached in /metrics and marked in the access log), a canary request never
    is, and a promotion empties it (a flip never serves the previous version's answers)."""
    values = yaml.safe_load(stack_file.read_text())
    values["config"]["ratings:api"]["cache"] = {"ttlSeconds": 60}
    values["config"]["ratings:routing"] = {"live": "v1"}
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]})
    metrics, lines = VariantMetrics("ratings-local"), []
    holder = StateHolder(stack_file)
    gateway = Gateway(holder, runtime, lines.append, answers=metrics)
    now = [100.0]
    gateway.cache = stage_cache.StageCache(clock=lambda: now[0])
    first, again = _call(gateway), _call(gateway)
    _call(gateway, "items=5")
    assert first[2] == again[2] and len(runtime.calls) == 2, "the repeat came from the cache"
    assert [json.loads(line)["cacheHit"] for line in lines] == [False, True, False]
    assert metrics.snapshot().stats("v1").answers == Answers(3, 0, 0, cached=1)
    now[0] += 60
    _call(gateway)
    assert len(runtime.calls) == 3, "past the TTL the model is asked again"
    values["config"]["ratings:routing"] = {"live": "v2"}
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    holder._maybe_reload()
    _call(gateway)
    assert len(runtime.calls) == 4 and runtime.calls[-1]["target"] == "v2", "the flip emptied the cache"


def test_a_canary_request_never_uses_the_stage_cache(stack_file):
    values = yaml.safe_load(stack_file.read_text())
    values["config"]["ratings:api"]["cache"] = {"ttlSeconds": 60}
    values["config"]["ratings:routing"] = {"live": "v1", "canary": {"version": "v2", "percent": 100}}
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    runtime = ScriptedRuntime(200, {"predictions": [{"scores": [3.5]}]}, variant="v2")
    gateway = Gateway(StateHolder(stack_file), runtime, lambda line: None)
    for _ in range(3):
        _call(gateway)
    assert len(runtime.calls) == 3


def test_an_answer_of_the_version_live_before_a_flip_is_not_cached_after_it(stack_file):
    """A request that began before a promotion (its state still routes to the old live version)
    finishes after the new state emptied the cache: its answer is not kept for the new one."""
    values = yaml.safe_load(stack_file.read_text())
    values["config"]["ratings:api"]["cache"] = {"ttlSeconds": 60}
    values["config"]["ratings:routing"] = {"live": "v1"}
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    before = StateHolder(stack_file).state
    values["config"]["ratings:routing"] = {"live": "v2"}
    stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    after = StateHolder(stack_file).state
    cache = stage_cache.StageCache()
    late, fresh = RequestContext("GET", PATH, {"items": "5"}, {}, "127.0.0.1", before), \
        RequestContext("GET", PATH, {"items": "5"}, {}, "127.0.0.1", after)
    late.path_parameters = fresh.path_parameters = {"user_id": "321"}
    assert cache.lookup(fresh) is None  # the new live version is served: the cache follows it
    late.answer = Answer(200, {}, b'{"ratings": [3.0]}')
    cache.store(late)
    assert cache.lookup(fresh) is None, "v1's answer was not kept for v2"
    fresh.answer = Answer(200, {}, b'{"ratings": [4.0]}')
    cache.store(fresh)
    assert cache.lookup(fresh) == fresh.answer


def test_request_ids_are_distinct_version_4_uuids_like_api_gateways():
    """$context.requestId is a UUID on API Gateway; ours are version 4, drawn without a syscall each."""
    ids = [emulator_context._request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    parsed = [uuid.UUID(text) for text in ids[:100]]
    assert all(value.version == 4 and value.variant == uuid.RFC_4122 and str(value) == text
               for value, text in zip(parsed, ids, strict=False))
