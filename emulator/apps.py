"""ASGI apps of the local runtime: the gateway (every path) and the SageMaker runtime."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.gateway import Gateway

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def gateway_app(gateway: Gateway) -> Starlette:
    async def every_path(request: Request) -> Response:
        client = request.client.host if request.client else "127.0.0.1"
        answer = await gateway.handle(request.method, request.url.path, request.url.query,
                                      dict(request.headers), client)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return Starlette(routes=[Route("/{path:path}", every_path, methods=METHODS)])
