"""Every failure becomes one JSON body ``{"message": ...}`` with its status, here only."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from training.inference import InferenceError

LOG = logging.getLogger("ratings.serving")


class BodyTooLarge(InferenceError):
    status = 413


class ModelNotReady(InferenceError):
    status = 503


def _json(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def inference_error(request: Request, error: InferenceError) -> JSONResponse:
    return _json(error.status, str(error))


async def http_error(request: Request, error: HTTPException) -> JSONResponse:
    return _json(error.status_code, f"{request.method} {request.url.path}: {error.detail}")


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    LOG.exception("unexpected error on %s %s", request.method, request.url.path)
    return _json(500, "internal error; see the server log")


HANDLERS = {InferenceError: inference_error, HTTPException: http_error, Exception: unexpected_error}
