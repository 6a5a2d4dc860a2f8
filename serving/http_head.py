"""The model server's bounds on a request head, answered in JSON like every other refusal.

uvicorn answers any request its parser gives up on, an over-long request line included, with a
plain-text 400 "Invalid HTTP request received.". A container's web server says what was wrong:
nginx, in front of the model in AWS's framework containers, keeps a request line within one of
its large header buffers (8 KB by default) and answers a longer one 414 (nginx docs,
``large_client_header_buffers``). This server does the same, and answers a head over
``MAX_HEAD_BYTES`` 431 (RFC 6585, "Request Header Fields Too Large") rather than buffering it.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_LINE_BYTES = 8192
MAX_HEAD_BYTES = 32768
LINGER_S = 2.0

LINE_TOO_LONG = "the request line is over {limit} bytes; send the instances in a POST body"
HEAD_TOO_LARGE = "the request headers are over {limit} bytes"
MALFORMED = "malformed HTTP request"
REASONS = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


class _Refused(Exception):
    """Raised in a parser callback; httptools turns it into a parser error (send_400_response)."""


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request line and head bounded (``uvicorn.run(http=...)``)."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_bytes, self._in_head, self._refusal, self._lingering = 0, True, (400, MALFORMED), False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes, self._in_head = 0, True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_LINE_BYTES:
            self._refusal = (414, LINE_TOO_LONG.format(limit=MAX_LINE_BYTES))
            raise _Refused

    def on_headers_complete(self) -> None:
        """A head that arrived whole in one read is measured here, once."""
        self._in_head = False
        if sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEAD_BYTES:
            self._refusal = (431, HEAD_TOO_LARGE.format(limit=MAX_HEAD_BYTES))
            raise _Refused
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        """A head still arriving is refused once its bytes pass the bound, before it is buffered."""
        if self._lingering:
            return
        counting = self._in_head
        super().data_received(data)
        if counting and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refusal = (431, HEAD_TOO_LARGE.format(limit=MAX_HEAD_BYTES))
                self.send_400_response(MALFORMED)

    def send_400_response(self, msg: str) -> None:
        status, message = self._refusal
        body = json.dumps({"message": message}).encode()
        head = (f"HTTP/1.1 {status} {REASONS[status]}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
        self.transport.write(head.encode("ascii") + body)
        self._linger()

    def _linger(self) -> None:
        """Closing with the client's bytes unread would reset the connection, and a client still
        sending would lose the answer; so, as nginx's lingering close does, end our side, drop what
        still arrives, and close when the client does or after ``LINGER_S``."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()
