"""Every failure becomes one JSON body ``{"message": ...}`` with its status, here only.

Bodies are ASCII JSON (``\\uXXXX`` escapes): a message that quotes client text holding half a
surrogate pair (a 40-character cut through an emoji) must still encode, or the error would
itself fail. Unexpected errors are answered by an outer middleware that does not re-raise:
Starlette's server-error middleware re-raises after answering, and uvicorn then closes the
connection under a client that was about to reuse it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from training.inference import InferenceError

LOG = logging.getLogger("ratings.serving")
UNEXPECTED = "internal error; see the server log"


class BodyTooLarge(InferenceError):
    status = 413


class ModelNotReady(InferenceError):
    status = 503


def json_response(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status_code=status, media_type="application/json")


async def inference_error(request: Request, error: InferenceError) -> Response:
    return json_response(error.status, str(error))


async def http_error(request: Request, error: HTTPException) -> Response:
    return json_response(error.status_code, f"{request.method} {request.url.path}: {error.detail}")


# Starlette calls each with the exception of its key's type: a handler takes that type, not Exception.
HANDLERS: dict[type[Exception], Callable[..., Awaitable[Response]]] = {
    InferenceError: inference_error, HTTPException: http_error}


class CatchAll:
    """ASGI middleware: an unexpected error is logged and answered 500, and the connection lives on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            LOG.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # half an answer is out: only closing the connection can tell the client
            await json_response(500, UNEXPECTED)(scope, receive, send)
