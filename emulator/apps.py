"""The gateway's ASGI app: every path, raw, answered as the deployed stage would.

The app reads the ASGI scope itself rather than through a framework's request object: the raw
path is decoded once by the gateway (a framework would hand over an already-decoded,
newline-stripped path, and its router would answer an unmatched ``%0A`` with plain text), and
headers are read in one pass (a case-insensitive header view costs a scan per lookup). The size
of the request head is bounded before the app sees it, by the server's protocol
(``emulator.http_server``); the body here, by ``emulator.http.read_body``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from emulator.gateway import Gateway
from emulator.gateway_errors import GatewayError, GatewayErrorKind
from emulator.http import BodyTooLarge, BodyTooSlow, Receive, Send, read_body, send_answer
from emulator.limits import Limits

LOG = logging.getLogger("ratings.gateway")

BODY_TOO_LARGE = "The request body exceeds the payload limit of {limit} bytes"
BODY_TOO_SLOW = "The request body did not arrive within {seconds:g} s"
UNEXPECTED = "Internal server error"


def request_headers(scope: dict[str, Any]) -> dict[str, str]:
    """Headers in arrival order, read in one pass; a repeated header keeps its first value."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


def _body_error(limits: Limits, error: Exception) -> GatewayError:
    if isinstance(error, BodyTooLarge):
        return GatewayError(GatewayErrorKind.REQUEST_TOO_LARGE, BODY_TOO_LARGE.format(limit=limits.max_request_bytes))
    return GatewayError(GatewayErrorKind.DEFAULT_4XX, BODY_TOO_SLOW.format(seconds=limits.body_timeout_s))


def gateway_app(gateway: Gateway, limits: Limits | None = None) -> Callable[..., Any]:
    bounds = limits or gateway.limits

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        client = scope["client"][0] if scope.get("client") else "127.0.0.1"
        try:
            await read_body(scope, receive, bounds.max_request_bytes, bounds.body_timeout_s)
        except (BodyTooLarge, BodyTooSlow) as error:
            await send_answer(send, gateway.refuse(method, raw_path, client, _body_error(bounds, error)), close=True)
            return
        headers = request_headers(scope)
        try:
            answer = await gateway.handle(method, raw_path, scope["query_string"].decode("latin-1"), headers, client)
        except Exception:  # a fault of ours: a generic 500, the details in our log only
            LOG.exception("gateway failure on %s %s", method, raw_path)
            answer = gateway.refuse(method, raw_path, client, GatewayError(GatewayErrorKind.DEFAULT_5XX, UNEXPECTED))
        await send_answer(send, answer)

    return app
