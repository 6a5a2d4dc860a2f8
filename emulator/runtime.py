"""A local SageMaker runtime: one endpoint whose production variants are model servers.

``POST /endpoints/{name}/invocations`` goes to the variant named by
``X-Amzn-SageMaker-Target-Variant`` (or is drawn by weight without one), answers with
``X-Amzn-Invoked-Production-Variant``, and turns model-server failures into SageMaker's error
shapes: a container's 4xx/5xx becomes a 424 ModelError carrying OriginalStatusCode and the
container's body as OriginalMessage; a container that does not answer becomes a ModelError with
OriginalStatusCode 0, as SageMaker reports it ("Received server error (0) ... timed out" or
"could not get a response").
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.metrics import VariantMetrics

TARGET_HEADER = "x-amzn-sagemaker-target-variant"
INVOKED_HEADER = "X-Amzn-Invoked-Production-Variant"
TIMED_OUT = "Your invocation timed out while waiting for a response from container {variant}."
NO_RESPONSE = "Could not get a response from container {variant} ({error})."


@dataclass(frozen=True)
class Variant:
    name: str
    url: str  # the model server, e.g. http://127.0.0.1:8101
    weight: float


@dataclass(frozen=True)
class Invocation:
    status: int
    body: bytes
    headers: dict[str, str]


def _error(status: int, kind: str, message: str, **extra) -> Invocation:
    body = json.dumps({"ErrorCode": kind, "Message": message, "message": message, **extra}).encode()
    return Invocation(status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": kind})


class SageMakerRuntime:
    def __init__(self, endpoint_name: str, variants: list[Variant], seed: int | None = None):
        self.endpoint_name = endpoint_name
        self.variants = {variant.name: variant for variant in variants}
        self.metrics = VariantMetrics(endpoint_name)
        self._random = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None  # made inside the running event loop

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=60, connect=2),
                connector=aiohttp.TCPConnector(limit=128, limit_per_host=64))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _choose(self, target: str | None) -> Variant | None:
        if target:
            return self.variants.get(target)
        variants = list(self.variants.values())
        return self._random.choices(variants, weights=[v.weight for v in variants])[0]

    async def invoke(self, endpoint: str, body: bytes, content_type: str, accept: str,
                     target: str | None) -> Invocation:
        if endpoint != self.endpoint_name:
            return _error(400, "ValidationError", f"Endpoint {endpoint} not found.")
        variant = self._choose(target)
        if variant is None:
            return _error(400, "ValidationError",
                          f"The variant {target!r} of endpoint {endpoint} does not exist; "
                          f"known variants: {', '.join(self.variants)}")
        started = time.perf_counter()
        try:
            async with self._client().post(f"{variant.url}/invocations", data=body,
                                           headers={"Content-Type": content_type, "Accept": accept}) as answer:
                status, payload = answer.status, await answer.read()
                answer_type = answer.headers.get("content-type", content_type)
        except (aiohttp.ClientError, TimeoutError) as error:
            self.metrics.record(variant.name, 500, (time.perf_counter() - started) * 1e6)
            said = TIMED_OUT if isinstance(error, TimeoutError) else NO_RESPONSE
            return self._model_error(variant.name, 0, said.format(variant=variant.name,
                                                                  error=type(error).__name__).encode())
        self.metrics.record(variant.name, status, (time.perf_counter() - started) * 1e6)
        if status >= 400:
            return self._model_error(variant.name, status, payload)
        return Invocation(200, payload, {"Content-Type": answer_type, INVOKED_HEADER: variant.name})

    def _model_error(self, variant: str, status: int, payload: bytes) -> Invocation:
        original = payload.decode("utf-8", "replace")  # SageMaker passes the body on as it is
        side = "client" if 400 <= status < 500 else "server"
        message = (f"Received {side} error ({status}) from primary with message \"{original}\". "
                   f"See the log of variant {variant}.")
        kind = "CLIENT_ERROR_FROM_MODEL" if side == "client" else "SERVER_ERROR_FROM_MODEL"
        invocation = _error(424, "ModelError", message, OriginalStatusCode=status,
                            OriginalMessage=original, ModelErrorCode=kind)
        invocation.headers[INVOKED_HEADER] = variant
        return invocation


def create_app(runtime: SageMakerRuntime) -> Starlette:
    async def invocations(request: Request) -> Response:
        result = await runtime.invoke(request.path_params["endpoint"], await request.body(),
                                      request.headers.get("content-type", "application/json"),
                                      request.headers.get("accept", "application/json"),
                                      request.headers.get(TARGET_HEADER))
        return Response(result.body, status_code=result.status, headers=result.headers)

    async def metrics(request: Request) -> Response:
        since = float(request.query_params.get("since", "0") or 0)
        return JSONResponse(runtime.metrics.snapshot(since))

    return Starlette(routes=[Route("/endpoints/{endpoint}/invocations", invocations, methods=["POST"]),
                             Route("/metrics", metrics, methods=["GET"])])
