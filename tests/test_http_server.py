"""The gateway's front door over raw sockets: request-head size limit, head timeout, bad requests.

API Gateway quota (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html):
"Total combined size of request line and header values: 10240 bytes"; an oversized request gets
the REQUEST_TOO_LARGE gateway response (default status 413,
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
AWS publishes no client header timeout; ours is a setting, lowered here to keep the test short.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

import pytest

from emulator.http_server import HeadWithBody
from emulator.limits import Limits
from tests.local_harness import PATH, RunningApi, model_app

HEAD_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    running = RunningApi(tmp_path_factory.mktemp("front"), {"v1": model_app(), "v2": model_app()},
                         limits=Limits(header_timeout_s=HEAD_TIMEOUT))
    yield running
    running.stop()


def _exchange(api: RunningApi, data: bytes, wait: float = 5.0) -> tuple[int, dict, bytes]:
    """Send ``data``, read until the server closes; the status, headers and body of its answer."""
    with socket.create_connection(("127.0.0.1", api.gateway_port), timeout=wait) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def _request(headers: list[tuple[str, str]], path: str = f"{PATH}/1?items=1") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_head_within_10240_bytes_is_served(api):
    headers = [(f"x-h{n}", "v" * 40) for n in range(150)]  # ~7.5 kB in 150 headers
    status, _, body = _exchange(api, _request(headers))
    assert status == 200 and json.loads(body) == {"ratings": [3.0]}


def test_a_head_over_10240_bytes_gets_413_json_and_a_log_line(api):
    status, headers, body = _exchange(api, _request([("x-big", "v" * 10_300)]))
    assert status == 413 and headers["content-type"] == "application/json"
    assert "10240" in json.loads(body)["message"]
    assert api.log_lines()[-1]["errorType"] == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 413)])
def test_the_limit_counts_the_bytes_of_the_head_as_sent(api, extra, status):
    """One rule, whether the head arrives whole or in pieces: line, header lines and line ends."""
    pad = 10_240 - len(_request([("x-pad", "")])) + extra
    data = _request([("x-pad", "v" * pad)])
    assert len(data) == 10_240 + extra
    assert _exchange(api, data)[0] == status


def test_an_endless_header_is_cut_off_without_buffering_it(api):
    """A head that never ends: refused once past the limit, not read to the end (1 MB sent)."""
    data = b"GET / HTTP/1.1\r\nx-endless: " + b"v" * 1_000_000
    status, _, body = _exchange(api, data)
    assert status == 413 and "10240" in json.loads(body)["message"]


def test_a_thousand_headers_within_the_byte_limit_are_served(api):
    """Headers are read in one pass (no per-lookup scan): 1,000 of them answer well within 1 s."""
    headers = [(f"h{n}", "") for n in range(1000)]
    started = time.monotonic()
    status, _, _ = _exchange(api, _request(headers))
    assert status == 200
    assert time.monotonic() - started < 1.0


def test_a_head_that_trickles_in_is_answered_408_after_the_head_timeout(api):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", api.gateway_port), timeout=5) as sock:
        sock.sendall(b"GET /local/predicted-ratings/1?items=1 HTTP/1.1\r\nHost: x\r\n")
        answer = sock.recv(65536)
        closed = sock.recv(65536) == b""
    assert answer.startswith(b"HTTP/1.1 408") and closed
    assert HEAD_TIMEOUT <= time.monotonic() - started < HEAD_TIMEOUT + 2


def test_an_idle_connection_is_closed_after_the_head_timeout(api):
    with socket.create_connection(("127.0.0.1", api.gateway_port), timeout=5) as sock:
        assert sock.recv(65536) == b""


def test_a_malformed_request_gets_json_and_a_log_line(api):
    status, headers, body = _exchange(api, b"GET /a b c\r\n\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["message"] == "Malformed HTTP request"
    assert api.log_lines()[-1]["status"] == 400


class _Transport:
    """What HeadWithBody writes through: every write, one item each."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_a_response_head_goes_out_with_its_body_in_one_write():
    transport = _Transport()
    writer = HeadWithBody(transport)
    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    writer.write(b"{}")
    writer.write(b"more")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
                                b"more"]
    assert not writer.is_closing(), "everything else is the transport's"
    bodiless = HeadWithBody(transport := _Transport())
    bodiless.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    bodiless.close()
    assert transport.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"] and transport.closed, "flushed before closing"


def test_a_head_request_gets_its_answer_head_and_the_connection_goes_on(api):
    """uvicorn writes no body for HEAD: the held head must still go out when the answer completes."""
    with socket.create_connection(("127.0.0.1", api.gateway_port), timeout=5) as sock:
        sock.sendall(f"HEAD {PATH}/1?items=1 HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 ")
        sock.sendall(_request([]))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.rstrip().endswith(b'{"ratings": [3.0]}')
