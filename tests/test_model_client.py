"""The runtime's HTTP/1.1 client against scripted servers: answer framings, reuse, failures.

Framings follow RFC 9112 section 6 (Content-Length, chunked, or a body that ends with the
connection); a model server may use any of them.
"""

from __future__ import annotations

import asyncio

import pytest

from emulator.model_client import ModelClient, ModelUnreachable
from tests.conftest import free_port

CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n"
LENGTH = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}"
CLOSING = b"HTTP/1.1 500 Oops\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"a\": 1}"
TO_EOF = b"HTTP/1.0 200 OK\r\n\r\n{\"a\": 1}"


async def _serve(answers: list[bytes], connections: list[int]):
    """Answer each request with the next scripted answer; count connections; close after EOF-framed ones."""

    async def handle(reader, writer):
        connections.append(1)
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            if answer in (TO_EOF, CLOSING):
                break
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _run(answers: list[bytes], calls: int) -> tuple[list, int]:
    async def scenario():
        connections: list[int] = []
        server = await _serve(list(answers), connections)
        client = ModelClient("127.0.0.1", server.sockets[0].getsockname()[1], connect_timeout=5)
        try:
            results = []
            for _ in range(calls):
                answer = await client.post("/invocations", b"{}", {"Content-Type": "application/json"})
                results.append((answer.status, answer.body))
            return results, len(connections)
        finally:
            client.close()
            server.close()

    return asyncio.run(asyncio.wait_for(scenario(), 10))


@pytest.mark.parametrize(("answers", "connections"), [
    ([LENGTH, LENGTH, LENGTH], 1),
    ([CHUNKED, LENGTH], 1),
    ([CLOSING, LENGTH], 2),
    ([TO_EOF, LENGTH], 2),
])
def test_answers_are_read_whole_and_connections_reused_when_allowed(answers, connections):
    results, opened = _run(answers, len(answers))
    assert [body for _, body in results] == [b'{"a": 1}'] * len(answers)
    assert results[0][0] == (500 if answers[0] is CLOSING else 200)
    assert opened == connections


def test_a_refused_connection_is_unreachable():
    async def scenario():
        client = ModelClient("127.0.0.1", free_port(), connect_timeout=5)
        with pytest.raises(ModelUnreachable, match="ConnectionRefusedError"):
            await client.post("/invocations", b"{}", {})

    asyncio.run(scenario())
