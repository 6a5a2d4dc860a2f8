"""The gateway app over HTTP: payload limit, body timeout, integration timeout.

API Gateway quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html):
"Payload size: 10 MB" and "Integration timeout: 50 milliseconds - 29 seconds"; past the timeout
the INTEGRATION_TIMEOUT gateway response answers 504
(https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
The timeouts are lowered here through ``Limits`` so the test takes a second, not 29.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import pytest

from emulator.limits import MB, Limits
from tests.local_harness import PATH, RunningApi, model_app

INTEGRATION_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5


MODEL_HANG = 4.0  # past the integration timeout and its 2 s margin; the server's shutdown waits it out


async def _hang_for_user_99(body: bytes):
    if b"[99]" in body:
        await asyncio.sleep(MODEL_HANG)
    return None


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    limits = Limits(integration_timeout_s=INTEGRATION_TIMEOUT, body_timeout_s=BODY_TIMEOUT)
    running = RunningApi(tmp_path_factory.mktemp("apps"), {"v1": model_app(_hang_for_user_99), "v2": model_app()},
                         limits=limits)
    yield running
    running.stop()


def test_a_hung_model_gets_504_at_the_integration_timeout(api):
    started = time.monotonic()
    status, headers, body = api.get(f"{PATH}/99?items=1")
    elapsed = time.monotonic() - started
    assert (status, headers["x-amzn-errortype"]) == (504, "INTEGRATION_TIMEOUT") and body["message"]
    assert INTEGRATION_TIMEOUT <= elapsed < INTEGRATION_TIMEOUT + 2
    assert api.get(f"{PATH}/98?items=1")[0] == 200, "other users are not held up"


def _post(api: RunningApi, head_extra: str, body: bytes, pause: float = 0.0) -> tuple[int, dict]:
    with socket.create_connection(("127.0.0.1", api.gateway_port), timeout=10) as sock:
        sock.sendall(f"GET {PATH}/1?items=1 HTTP/1.1\r\nHost: x\r\n{head_extra}\r\n".encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(body)
        time.sleep(pause)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_a_body_over_10_mb_gets_413(api):
    size = 10 * MB + 1
    status, body = _post(api, f"Content-Length: {size}\r\n", b"x" * size)
    assert status == 413 and str(10 * MB) in body["message"]
    assert api.log_lines()[-1]["errorType"] == "REQUEST_TOO_LARGE"


def test_a_body_that_never_arrives_is_refused_after_the_body_timeout(api):
    started = time.monotonic()
    status, body = _post(api, "Content-Length: 100\r\n", b"only ten b")
    assert status == 400 and "did not arrive" in body["message"]
    assert BODY_TIMEOUT <= time.monotonic() - started < BODY_TIMEOUT + 2


def test_a_chunked_body_that_stops_arriving_is_refused_after_the_body_timeout(api):
    """A body with no Content-Length still gets the deadline when it is chunked (only a request
    with neither has no body, RFC 9112 section 6.3, and is read without one)."""
    started = time.monotonic()
    status, body = _post(api, "Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n")
    assert status == 400 and "did not arrive" in body["message"]
    assert BODY_TIMEOUT <= time.monotonic() - started < BODY_TIMEOUT + 2
