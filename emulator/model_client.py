"""A small HTTP/1.1 client for one model server: POST over kept-alive connections.

The runtime talks to a handful of local model servers with one request shape, so a general
client's per-request machinery (aiohttp spends ~0.4 ms of CPU per call here) is most of the
hop's cost. This one writes the request in one piece, reads a Content-Length or chunked answer,
and keeps the connection for the next call. Admission (``emulator.admission``) bounds how many
calls run at once, so the idle pool never outgrows it.

A kept-alive connection the server has closed meanwhile fails the next call before any answer;
such a call is retried once on a new connection (RFC 9112 section 9.3.1 allows it for a request
that can be repeated, and an invocation can).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from emulator.http import Answer

MAX_HEAD_BYTES = 64 * 1024


class ModelUnreachable(Exception):
    """No answer: the connection was refused, timed out connecting, or closed mid-call."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


class ModelClient:
    def __init__(self, host: str, port: int, connect_timeout: float):
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self._idle: list[_Connection] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        request = _request(path, self.host, self.port, body, headers)
        connection, reused = self._take_idle(), True
        if connection is None:
            connection, reused = await self._connect(), False
        try:
            answer, keep = await _exchange(connection, request)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            connection.close()
            if not reused:
                raise ModelUnreachable(type(error).__name__) from None
            return await self._post_once_more(request)
        except BaseException:  # a timeout or cancellation mid-call: the connection's state is unknown
            connection.close()
            raise
        self._release(connection, keep)
        return answer

    async def _post_once_more(self, request: bytes) -> Answer:
        connection = await self._connect()
        try:
            answer, keep = await _exchange(connection, request)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            connection.close()
            raise ModelUnreachable(type(error).__name__) from None
        except BaseException:
            connection.close()
            raise
        self._release(connection, keep)
        return answer

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.close()
        return None

    def _release(self, connection: _Connection, keep: bool) -> None:
        if keep:
            self._idle.append(connection)
        else:
            connection.close()

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_HEAD_BYTES)
        except TimeoutError:
            raise ModelUnreachable("ConnectionTimeout") from None
        except OSError as error:
            raise ModelUnreachable(type(error).__name__) from None
        return _Connection(reader, writer)

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def _request(path: str, host: str, port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items()),
             f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


async def _exchange(connection: _Connection, request: bytes) -> tuple[Answer, bool]:
    connection.writer.write(request)
    try:
        head = await connection.reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise ConnectionResetError("answer head too large") from None
    version, status, headers = _head(head)
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _chunked(connection.reader)
    elif "content-length" in headers:
        body = await connection.reader.readexactly(int(headers["content-length"]))
    else:  # the body runs to the end of the connection
        body, keep = await connection.reader.read(), False
    return Answer(status, headers, body), keep


def _head(head: bytes) -> tuple[str, int, dict[str, str]]:
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ConnectionResetError(f"not an HTTP answer: {status_line[:40]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return parts[0], int(parts[1]), headers


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
