"""The model server's bounds on a request head (``serving.http_head``), against a real `ratings
serve` process: an over-long request line or head gets one JSON refusal, not uvicorn's plain-text
400 "Invalid HTTP request received." (what 64-128 KB request lines got before)."""

from __future__ import annotations

import json
import socket

import pytest

from emulator import processes
from serving import http_head
from tests.conftest import free_port
from tests.model_fixtures import save_tiny


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    started = processes.start("tiny", save_tiny(folder / "tiny"), free_port(), folder / "tiny.log", timeout=60)
    yield started
    started.stop()


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"connection: close" not in answer.lower():
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(("raw", "status", "message"), [
    (b"GET /ping?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     http_head.LINE_TOO_LONG.format(limit=http_head.MAX_LINE_BYTES)),
    (b"GET /ping?" + b"a" * 130_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     http_head.LINE_TOO_LONG.format(limit=http_head.MAX_LINE_BYTES)),
    (b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", 431,
     http_head.HEAD_TOO_LARGE.format(limit=http_head.MAX_HEAD_BYTES)),
    (b"GET /ping HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1234567890\r\n" * 3000 + b"\r\n", 431,
     http_head.HEAD_TOO_LARGE.format(limit=http_head.MAX_HEAD_BYTES)),
    (b"NOT HTTP AT ALL\r\n\r\n", 400, http_head.MALFORMED),
])
def test_an_oversized_or_malformed_head_gets_one_json_refusal(server, raw, status, message):
    got, headers, body = _exchange(server.port, raw)
    assert (got, headers["content-type"], json.loads(body)) == (status, "application/json", {"message": message})


def test_heads_within_the_bounds_are_served(server):
    status, _, _ = _exchange(server.port, b"GET /ping?" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\n"
                             + b"X-Big: " + b"a" * 20_000 + b"\r\nConnection: close\r\n\r\n")
    assert status == 200
