"""The ASGI app: ``GET /ping`` and ``POST /invocations`` around the inference handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.names import MODEL_SERVER_IDENTITY_HEADER
from serving.errors import HANDLERS, BodyTooLarge, CatchAll, ModelNotReady
from training import inference


@dataclass
class ModelHolder:
    """The loaded model, and whether it is ready (``/ping`` is 200 only then)."""

    model_dir: str
    model: inference.Model | None = field(default=None)

    @property
    def ready(self) -> bool:
        return self.model is not None

    def load(self) -> inference.Model:
        self.model = inference.model_fn(self.model_dir)
        return self.model


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {declared} bytes exceeds the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


IDENTITY_HEADER = MODEL_SERVER_IDENTITY_HEADER  # core/names.py: the local runtime checks it


def create_app(holder: ModelHolder, max_body_bytes: int, identity: str | None = None) -> Starlette:
    """``identity``: answered on /ping (``IDENTITY_HEADER``) when the local runtime set one."""
    proof = {IDENTITY_HEADER: identity} if identity else {}

    async def ping(request: Request) -> Response:
        if not holder.ready:
            raise ModelNotReady("model not loaded yet")
        return Response(b"", status_code=200, headers=proof)

    async def invocations(request: Request) -> Response:
        model = holder.model
        if model is None:
            raise ModelNotReady("model not loaded yet")
        body = await _read_body(request, max_body_bytes)
        pairs = inference.input_fn(body, request.headers.get("content-type"))
        prediction = inference.predict_fn(pairs, model)
        payload, media_type = inference.output_fn(prediction, request.headers.get("accept"))
        return Response(payload, media_type=media_type, headers={"X-Model-Version": model.version})

    routes = [Route("/ping", ping, methods=["GET"]), Route("/invocations", invocations, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers=HANDLERS, middleware=[Middleware(CatchAll)])
