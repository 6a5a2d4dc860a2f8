"""The local SageMaker runtime under faults: closed connections, bursts, oversized payloads.

SageMaker InvokeEndpoint (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html):
"Maximum payload size: 6 MB"; SageMaker answers a larger one with 413 "HTTP content length exceeded
... bytes." (recorded in github.com/aws/sagemaker-python-sdk/issues/171). Its CloudWatch
Invocation5XXErrors count what the model returned
(https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html), so an invocation
refused before reaching the model must not count against the variant.
"""

from __future__ import annotations

import asyncio
import collections
import http.client
import json
import socketserver
import threading
import time

import aiohttp
import pytest
import yaml

from core.files import write_atomic
from emulator.limits import MB, Limits
from tests.local_harness import PATH, RunningApi, model_app, predictions


class _DropsAfter500(socketserver.StreamRequestHandler):
    """A model server that keeps the connection open after answering 500 (user 500), then closes
    it when the next request arrives on it: the race a server that closes after a 500 loses
    against a client reusing the connection (RFC 9112 9.3.1: such a request may be retried)."""

    def handle(self) -> None:
        dropping = False
        while request := self._read_request():
            if dropping:
                return  # close without answering
            failed = b"[500]" in request
            status, payload = (500, b'{"message": "boom"}') if failed else predictions(request)
            self.wfile.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(payload), payload))
            dropping = failed

    def _read_request(self) -> bytes | None:
        length = None
        while (line := self.rfile.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return None if length is None else self.rfile.read(length)


def test_requests_after_a_model_500_that_closed_its_connection_succeed(tmp_path):
    model = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _DropsAfter500)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    api = RunningApi(tmp_path, {"v1": model.server_address[1], "v2": model_app()})
    try:
        connection = api.connection()
        assert api.get(f"{PATH}/500?items=1", connection=connection)[0] == 502
        statuses = [api.get(f"{PATH}/{user}?items=1", connection=connection)[0] for user in range(1, 21)]
        assert statuses == [200] * 20
    finally:
        api.stop()
        model.shutdown()
        model.server_close()


async def _burst(port: int, count: int) -> collections.Counter:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def one(user: int):
            try:
                async with session.get(f"http://127.0.0.1:{port}{PATH}/{user}?items=5,6") as answer:
                    return answer.status, (await answer.json())
            except (aiohttp.ClientError, TimeoutError) as error:  # counted, so a failure shows what happened
                return type(error).__name__, {}

        answers = await asyncio.gather(*(one(n % 900 + 1) for n in range(count)))
    return collections.Counter(status for status, _ in answers), [body for status, body in answers if status != 200]


async def _slow(seconds: float, body: bytes):
    await asyncio.sleep(seconds)
    return None


def _metrics(api: RunningApi) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", api.runtime_port, timeout=10)
    connection.request("GET", "/metrics")
    return json.loads(connection.getresponse().read())["Variants"]


def _server_errors(api: RunningApi, variant: str) -> int:
    """The variant's 5xx over every minute kept: a test may straddle a minute's edge."""
    return sum(period["Invocation5XXErrors"] for period in _metrics(api)[variant])


def test_a_burst_of_2000_concurrent_requests_queues_instead_of_failing(tmp_path):
    """Four connections to the model, 2,000 requests at once: all wait their turn and succeed."""
    api = RunningApi(tmp_path, {"v1": model_app(lambda body: _slow(0.001, body)), "v2": model_app()},
                     limits=Limits(connections_per_variant=4))
    try:
        statuses, failures = asyncio.run(_burst(api.gateway_port, 2000))
        assert statuses == {200: 2000}, failures[:3]
        latest = _metrics(api)["v1"][-1]
        assert (sum(p["Invocations"] for p in _metrics(api)["v1"]), latest["Invocation5XXErrors"]) == (2000, 0)
    finally:
        api.stop()


def test_a_burst_beyond_the_queue_is_throttled_not_blamed_on_the_model(tmp_path):
    api = RunningApi(tmp_path, {"v1": model_app(lambda body: _slow(0.05, body)), "v2": model_app()},
                     limits=Limits(connections_per_variant=2, queue_per_variant=10))
    try:
        statuses, refused = asyncio.run(_burst(api.gateway_port, 100))
        assert set(statuses) == {200, 503} and statuses[200] >= 12, statuses
        assert all("retry later" in body["message"] for body in refused)
        periods = _metrics(api)["v1"]
        assert sum(p["Invocations"] for p in periods) == statuses[200], "throttled calls never reached the model"
        assert sum(p["Invocation5XXErrors"] for p in periods) == 0
    finally:
        api.stop()


def _invoke(api: RunningApi, body: bytes, variant: str = "v1") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", api.runtime_port, timeout=30)
    connection.request("POST", "/endpoints/ratings-local/invocations", body,
                       {"Content-Type": "application/json", "X-Amzn-SageMaker-Target-Variant": variant})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


@pytest.fixture(scope="module")
def runtime_api(tmp_path_factory):
    api = RunningApi(tmp_path_factory.mktemp("runtime"), {"v1": model_app(), "v2": model_app()})
    yield api
    api.stop()


def test_an_invocation_of_exactly_6_mb_reaches_the_model(runtime_api):
    document = b'{"instances": [{"in0": [1], "in1": [2]}]}'
    assert _invoke(runtime_api, document + b" " * (6 * MB - len(document))) == (
        200, {"predictions": [{"scores": [3.0]}]})


def test_an_invocation_over_6_mb_gets_sagemakers_413(runtime_api):
    status, body = _invoke(runtime_api, b" " * (6 * MB + 1))
    assert (status, body["ErrorCode"]) == (413, "ValidationError")
    assert body["Message"] == f"HTTP content length exceeded {6 * MB} bytes."


def test_a_model_slower_than_the_invocation_timeout_is_a_model_error(tmp_path):
    """SageMaker gives a container 60 s (lowered here), then answers ModelError "Your invocation
    timed out while waiting for a response from container ..." wrapped as "Received server error (0)
    from ... with message ..." (recorded in github.com/aws/sagemaker-python-sdk/issues/1119) and counts
    it against the variant."""
    api = RunningApi(tmp_path, {"v1": model_app(lambda body: _slow(5, body)), "v2": model_app()},
                     limits=Limits(model_timeout_s=0.3))
    try:
        status, body = _invoke(api, b'{"instances": [{"in0": [1], "in1": [2]}]}')
        assert (status, body["ErrorCode"], body["OriginalStatusCode"]) == (424, "ModelError", 0)
        timed_out = "Your invocation timed out while waiting for a response from container v1."
        assert body["OriginalMessage"] == timed_out
        assert body["Message"].startswith(f'Received server error (0) from primary with message "{timed_out}"')
        assert _server_errors(api, "v1") == 1
    finally:
        api.stop()



def test_through_the_gateway_a_model_timeout_shorter_than_the_integration_timeout_still_fires(tmp_path):
    """The gateway tells the runtime when it gives up (its 29 s integration timeout); the runtime
    skips its own timer only when that comes first. With the model timeout the shorter one, the
    model's timeout answers (SageMaker's ModelError, mapped by the API's error template) long before
    the gateway's 29 s, and counts against the version."""
    api = RunningApi(tmp_path, {"v1": model_app(lambda body: _slow(5, body)), "v2": model_app()},
                     limits=Limits(model_timeout_s=0.3))
    try:
        connection = http.client.HTTPConnection("127.0.0.1", api.gateway_port, timeout=10)
        started = time.monotonic()
        connection.request("GET", "/local/predicted-ratings/321?items=101")
        answer = connection.getresponse()
        body, elapsed = json.loads(answer.read()), time.monotonic() - started
        assert (answer.status, body["message"]) == (504, "the model did not answer in time; retry later"), body
        assert elapsed < 4.0, f"answered after {elapsed:.1f} s: the model timeout did not fire"
        assert _server_errors(api, "v1") == 1
    finally:
        api.stop()


def _get(api: RunningApi, path: str) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", api.runtime_port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def test_metrics_since_that_is_not_a_time_is_one_400_naming_it(tmp_path):
    """``GET /metrics?since=`` takes epoch seconds; anything else (``nan`` and ``inf`` parse as
    floats but name no minute) is the caller's error in SageMaker's error shape, and the runtime
    keeps answering."""
    api = RunningApi(tmp_path, {"v1": model_app(), "v2": model_app()})
    try:
        for since in ("abc", "nan", "inf", "1e999"):
            status, body = _get(api, f"/metrics?since={since}")
            assert (status, body["ErrorCode"]) == (400, "ValidationError"), body
            assert body["Message"].startswith(f"since={since!r} is not a time; give epoch seconds"), body
        status, body = _get(api, "/metrics?since=0")
        assert status == 200 and "Variants" in body, body
    finally:
        api.stop()


ONE = b'{"instances": [{"in0": [1], "in1": [2]}]}'


def _set_faults(api: RunningApi, faults: dict) -> None:
    """Edit the stack file as a rehearsal would, atomically, as `canary` writes it."""
    api.values["config"]["ratings:local"]["faults"] = faults
    write_atomic(api.stack_file, yaml.safe_dump(api.values, sort_keys=False))


def _until(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_faults_in_the_stack_file_apply_to_the_running_stack_without_a_restart(tmp_path):
    """``ratings:local.faults.<version>``: errors, added latency or a hang on demand, to rehearse a
    bad rollout; the running runtime reads them like any other edit and stops when they go."""
    api = RunningApi(tmp_path, {"v1": model_app(), "v2": model_app()}, limits=Limits(model_timeout_s=0.3))
    try:
        assert _invoke(api, ONE, "v2")[0] == 200
        _set_faults(api, {"v2": {"errorRate": 1.0}})
        status, body = _until(lambda: (answer := _invoke(api, ONE, "v2"))[0] != 200 and answer) or (0, {})
        assert (status, body.get("ErrorCode"), body.get("OriginalStatusCode")) == (424, "ModelError", 500)
        assert "fault injected by ratings:local.faults" in body["OriginalMessage"]
        assert _invoke(api, ONE, "v1")[0] == 200, "only the version named has the fault"
        _set_faults(api, {"v2": {"hang": True}})
        status, body = _until(lambda: (answer := _invoke(api, ONE, "v2"))[1].get("OriginalStatusCode") == 0
                              and answer) or (0, {})
        assert body["OriginalMessage"] == "Your invocation timed out while waiting for a response from container v2."
        _set_faults(api, {"v2": {"addedLatencyMs": 400}})
        assert _until(lambda: _timed(lambda: _invoke(api, ONE, "v2"))[1] >= 0.4), "latency added before the call"
        _set_faults(api, {})
        assert _until(lambda: _invoke(api, ONE, "v2")[0] == 200)
        assert _server_errors(api, "v2") >= 2, "faults count against the version"
    finally:
        api.stop()


def _timed(call) -> tuple[object, float]:
    started = time.monotonic()
    return call(), time.monotonic() - started
