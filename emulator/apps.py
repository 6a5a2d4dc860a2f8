"""ASGI apps of the local runtime: the gateway (every path, raw) and the SageMaker runtime.

The gateway app reads the ASGI scope itself rather than through a framework's request object:
the raw path is decoded once by the gateway (a framework would hand over an already-decoded,
newline-stripped path, and its router would answer an unmatched ``%0A`` with plain text), and
headers are read in one pass (a case-insensitive header view costs a scan per lookup).
"""

from __future__ import annotations

import asyncio
import logging

from emulator.gateway import Gateway
from emulator.gateway_errors import Answer, GatewayError, GatewayErrorKind
from emulator.limits import Limits

LOG = logging.getLogger("ratings.gateway")

HEADERS_TOO_LARGE = "The request line and headers are {size} bytes; API Gateway accepts at most {limit}"
BODY_TOO_LARGE = "The request body exceeds the payload limit of {limit} bytes"
BODY_TOO_SLOW = "The request body did not arrive within {seconds:g} s"
UNEXPECTED = "Internal server error"


class BodyError(Exception):
    def __init__(self, error: GatewayError):
        self.error = error


def request_head_size(scope: dict) -> int:
    """Bytes of the request line and headers, as API Gateway's 10,240-byte quota counts them."""
    line = len(scope["method"]) + len(scope.get("raw_path") or b"") + len(scope["query_string"]) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def request_headers(scope: dict) -> dict[str, str]:
    """Headers in arrival order, read in one pass; a repeated header keeps its first value."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


async def read_body(receive, limit: int, timeout: float) -> bytes:
    """The whole body within ``timeout`` seconds and ``limit`` bytes."""
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                size += len(message.get("body", b""))
                if size > limit:
                    too_large = GatewayError(GatewayErrorKind.REQUEST_TOO_LARGE, BODY_TOO_LARGE.format(limit=limit))
                    raise BodyError(too_large)
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
    except TimeoutError:
        raise BodyError(GatewayError(GatewayErrorKind.DEFAULT_4XX, BODY_TOO_SLOW.format(seconds=timeout))) from None
    return b"".join(chunks)


async def send_answer(send, answer: Answer, close: bool = False) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1", "replace")) for name, value in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def gateway_app(gateway: Gateway, limits: Limits | None = None):
    limits = limits or gateway.limits

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        client = scope["client"][0] if scope.get("client") else "127.0.0.1"
        size = request_head_size(scope)
        if size > limits.max_header_bytes:
            error = GatewayError(GatewayErrorKind.REQUEST_TOO_LARGE,
                                 HEADERS_TOO_LARGE.format(size=size, limit=limits.max_header_bytes))
            await send_answer(send, gateway.refuse(method, raw_path, client, error), close=True)
            return
        try:
            await read_body(receive, limits.max_request_bytes, limits.body_timeout_s)
        except BodyError as failure:
            await send_answer(send, gateway.refuse(method, raw_path, client, failure.error), close=True)
            return
        headers = request_headers(scope)
        try:
            answer = await gateway.handle(method, raw_path, scope["query_string"].decode("latin-1"), headers, client)
        except Exception:  # a fault of ours: a generic 500, the details in our log only
            LOG.exception("gateway failure on %s %s", method, raw_path)
            answer = gateway.refuse(method, raw_path, client, GatewayError(GatewayErrorKind.DEFAULT_5XX, UNEXPECTED))
        await send_answer(send, answer)

    return app
