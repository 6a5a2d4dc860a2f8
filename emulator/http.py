"""The one HTTP answer of the emulator, and the one way it reads a request body.

A model server's answer to the runtime, the runtime's invocation result and the gateway's answer
to a client are the same thing: a status, headers and a body, in that order, as on the wire.
Bodies are read from the raw ASGI ``receive`` within a size limit (nothing past it is buffered)
and, where a slow client must not hold a connection, a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"

# ASGI's message and callables, as Starlette types them (a message is any mutable mapping)
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class BodyTooLarge(Exception):
    """The body passed the limit; nothing more of it was read."""


class BodyTooSlow(Exception):
    """The body did not arrive within the deadline."""


def json_answer(status: int, document: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, {"Content-Type": JSON, **(headers or {})}, json.dumps(document).encode())


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


def _chunked(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"transfer-encoding" for name, _ in headers)


async def read_body(scope: Mapping[str, Any], receive: Receive, limit: int, timeout: float | None = None) -> bytes:
    """The whole request body, refused as soon as it is known to pass ``limit`` bytes (a declared
    Content-Length already does) or, with a ``timeout``, when it has not arrived within it."""
    headers = scope.get("headers", [])
    declared = declared_length(headers)
    if declared is not None and declared > limit:
        raise BodyTooLarge()
    if timeout is None or (declared in (None, 0) and not _chunked(headers)):
        # without a length or chunked coding no body follows the head (RFC 9112 section 6.3): the
        # server hands over the empty body at once, so no deadline needs arming
        return await _collect(receive, limit)
    try:
        async with asyncio.timeout(timeout):
            return await _collect(receive, limit)
    except TimeoutError:
        raise BodyTooSlow() from None


async def _collect(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def send_answer(send: Send, answer: Answer, close: bool = False, head_only: bool = False) -> None:
    """Write ``answer`` through an ASGI ``send`` (Content-Length always; ``close`` ends the connection)."""
    headers = [(name.encode("latin-1"), value.encode("latin-1", "replace")) for name, value in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head_only else answer.body})
