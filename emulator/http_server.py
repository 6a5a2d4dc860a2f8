"""uvicorn's httptools protocol with the bounds a public front door needs.

uvicorn buffers request headers without a size limit and waits for them without a deadline (its
keep-alive timer only runs between requests). This protocol refuses a request head larger than
``max_header_bytes`` and closes a connection whose head has not arrived within
``header_timeout_s``; a malformed request gets the gateway's JSON answer instead of uvicorn's
plain text. Each refusal goes through ``refuse`` so it is answered and logged like any other.

This is the one place the head's size is enforced, with one rule: the bytes of the request head
as sent (request line, header lines, line ends), against API Gateway's 10,240-byte quota on "the
request line and header values" (counted a little more strictly: names and separators count
too). A head still arriving is stopped as soon as its bytes pass the limit, before it is
buffered; a complete one is measured when the parser has it, before the request is dispatched.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from emulator.gateway_errors import GatewayError, GatewayErrorKind
from emulator.http import Answer
from emulator.limits import Limits

HEAD_TOO_LARGE = "The request line and headers exceed {limit} bytes"
HEAD_TOO_SLOW = "The request headers did not arrive within {seconds:g} s"
MALFORMED = "Malformed HTTP request"

Refuse = Callable[[str, str, str, GatewayError], Answer]  # method, raw path, client ip, error
REQUEST_LINE_FIXED = len(" ") + len(" HTTP/1.1\r\n")
BLANK_LINE = len("\r\n")


class HeadTooLarge(Exception):
    """Raised from the parser's callback; httptools reports it as a parser error (send_400_response)."""


def head_size(method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """Bytes of a request head as sent: the request line, each ``name: value`` line, the blank line."""
    return (len(method) + len(url) + REQUEST_LINE_FIXED + sum(len(n) + len(v) + 4 for n, v in headers)
            + BLANK_LINE)


def guarded_protocol(limits: Limits, refuse: Refuse) -> type[HttpToolsProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` bound to these limits."""

    class GuardedProtocol(_GuardedProtocol):
        pass

    GuardedProtocol.limits, GuardedProtocol.refuse_with = limits, staticmethod(refuse)
    return GuardedProtocol


class _GuardedProtocol(HttpToolsProtocol):
    limits: Limits
    refuse_with: Refuse
    _head_timer: asyncio.TimerHandle | None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_bytes, self._in_head, self._head_timer, self._oversized = 0, True, None, False
        self._writers: list[HeadWithBody] = []
        self._arm_head_timer()

    def connection_lost(self, exc) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.limits.max_header_bytes and not self.transport.is_closing():
            self._refuse_too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head, self._head_bytes = True, 0
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        if head_size(self.parser.get_method(), self.url, self.headers) > self.limits.max_header_bytes:
            self._oversized = True
            raise HeadTooLarge()
        super().on_headers_complete()
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle.transport is self.transport:  # None: an upgrade, refused by uvicorn
            cycle.transport = HeadWithBody(self.transport)
            self._writers.append(cycle.transport)

    def on_response_complete(self) -> None:
        for writer in self._writers:  # a response with no body write (HEAD) still has its head held
            writer.flush()
        self._writers = [writer for writer in self._writers if not writer.started]  # pipelined, not begun
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        if self._oversized:
            self._refuse_too_large()
        else:
            self._refuse_head(GatewayErrorKind.DEFAULT_4XX, MALFORMED)

    def _refuse_too_large(self) -> None:
        self._refuse_head(GatewayErrorKind.REQUEST_TOO_LARGE, HEAD_TOO_LARGE.format(limit=self.limits.max_header_bytes))

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            if self._head_bytes:
                self._refuse_head(GatewayErrorKind.DEFAULT_4XX,
                                  HEAD_TOO_SLOW.format(seconds=self.limits.header_timeout_s), status=408)
            else:
                self.transport.close()  # an idle connection: nothing to answer

    def _refuse_head(self, kind: GatewayErrorKind, message: str, status: int | None = None) -> None:
        self._disarm_head_timer()
        client = self.client[0] if self.client else "127.0.0.1"
        answer = self.refuse_with("", self.url.decode("latin-1") if getattr(self, "url", None) else "", client,
                                  GatewayError(kind, message))
        self.transport.write(_raw_response(status or answer.status, answer))
        self.transport.close()


class HeadWithBody:
    """A response's transport that sends its head and body in one write.

    uvicorn writes a response's head when the app starts it and the body when the app sends it:
    two send syscalls (on loopback each also delivers to the reader) and two segments for the
    client to read. This holds the first write of a response, its head, and sends it with the
    next. The protocol flushes a head still held when the response completes (a HEAD answer has
    no body write); ``close`` sends it first. The interim ``100 Continue`` is never held.
    """

    __slots__ = ("_head", "_transport", "started")
    CONTINUE = b"HTTP/1.1 100 Continue"

    def __init__(self, transport: asyncio.Transport):
        self._transport, self.started = transport, False
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if not self.started and not data.startswith(self.CONTINUE):
            self.started, self._head = True, data
        elif self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head + data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


def _raw_response(status: int, answer: Answer) -> bytes:
    reason = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else ""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in answer.headers.items()]
    lines += [f"content-length: {len(answer.body)}", "connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1", "replace") + answer.body
