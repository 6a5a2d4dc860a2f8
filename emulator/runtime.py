"""A local SageMaker runtime: one endpoint whose production variants are model servers.

``POST /endpoints/{name}/invocations`` goes to the variant named by
``X-Amzn-SageMaker-Target-Variant`` (or is drawn by weight without one), answers with
``X-Amzn-Invoked-Production-Variant``, and turns model-server failures into SageMaker's error
shapes: a container's 4xx/5xx becomes a 424 ModelError carrying OriginalStatusCode and the
container's body as OriginalMessage; a container that does not answer becomes a ModelError with
OriginalStatusCode 0, as SageMaker reports it ("Received server error (0) ... timed out" or
"could not get a response").

Each variant has a fixed number of connections and a bounded queue of invocations waiting for
one (``emulator.admission``): a burst waits its turn instead of timing out on the pool, and one
beyond the queue is throttled (429) without reaching the model, so it is not counted in that
variant's metrics. A body over InvokeEndpoint's 6 MB is refused with 413 before any model sees
it. Calls go through ``emulator.model_client`` (kept-alive connections; a call on one the model
server had closed is retried once).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.config import Fault
from emulator.admission import Admission, QueueFull
from emulator.constants import INVOKED_HEADER, JSON, TARGET_VARIANT_HEADER
from emulator.http import Answer, BodyTooLarge, json_answer, read_body
from emulator.limits import Limits
from emulator.metrics import VariantMetrics
from emulator.model_client import ModelClient, ModelUnreachable

TARGET_HEADER = TARGET_VARIANT_HEADER
CONNECT_TIMEOUT_S = 10.0  # generous: on loopback a connect succeeds or is refused at once
# Recorded from SageMaker: "An error occurred (413) when calling the InvokeEndpoint operation: HTTP
# content length exceeded 5246976 bytes." (github.com/aws/sagemaker-python-sdk/issues/171)
PAYLOAD_TOO_LARGE = "HTTP content length exceeded {limit} bytes."
THROTTLED = "Variant {variant} has {waiting} invocations waiting; retry later."
TIMED_OUT = "Your invocation timed out while waiting for a response from container {variant}."
NO_RESPONSE = "Could not get a response from container {variant} ({error})."
FAULT_ANSWER = b'{"message": "fault injected by ratings:local.faults"}'
BAD_SINCE = "since={value!r} is not a time; give epoch seconds, e.g. since=1767225600"


@dataclass(frozen=True)
class Variant:
    name: str
    url: str  # the model server, e.g. http://127.0.0.1:8101
    weight: float


def _error(status: int, kind: str, message: str, variant: str | None = None, **extra: object) -> Answer:
    """SageMaker's error shape; ``variant`` names the one that answered (a model's own error). The
    kind is in the body as ``__type`` too, where AWS's JSON protocols put an error's code and where
    a mapping template can read it (it cannot read the x-amzn-ErrorType header)."""
    invoked = {INVOKED_HEADER: variant} if variant else {}
    return json_answer(status, {"__type": kind, "ErrorCode": kind, "Message": message, "message": message, **extra},
                       {"x-amzn-ErrorType": kind, **invoked})


class SageMakerRuntime:
    def __init__(self, endpoint_name: str, variants: list[Variant], seed: int | None = None,
                 limits: Limits | None = None, faults_of: Callable[[], Mapping[str, Fault]] = dict):
        self.endpoint_name = endpoint_name
        self.faults_of = faults_of  # the stack's ratings:local.faults as the gateway serves them now
        self._fault_draw = random.Random(seed)
        self.variants = {variant.name: variant for variant in variants}
        self.limits = limits or Limits()
        self.metrics = VariantMetrics(endpoint_name)
        self._random = random.Random(seed)
        self._admission: dict[str, Admission] = {}
        self._clients: dict[str, ModelClient] = {}
        self._paths: dict[str, str] = {}
        for variant in variants:
            self.add_variant(variant)

    def add_variant(self, variant: Variant) -> None:
        """A production variant from now on (a version the running stack just started)."""
        self._admission[variant.name] = Admission(self.limits.connections_per_variant, self.limits.queue_per_variant)
        self._clients[variant.name] = _client_of(variant)
        self._paths[variant.name] = _invocations_path(variant)
        self.variants[variant.name] = variant

    async def remove_variant(self, name: str, drain_s: float) -> None:
        """No new invocation reaches ``name``; those already admitted finish (within ``drain_s``)
        before its connections close, so removing a version fails no request in flight."""
        if self.variants.pop(name, None) is None:
            return
        admission = self._admission[name]
        deadline = time.monotonic() + drain_s
        while not admission.idle and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self._clients.pop(name).close()
        del self._admission[name], self._paths[name]

    async def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _choose(self, target: str | None) -> Variant | None:
        if target:
            return self.variants.get(target)
        variants = list(self.variants.values())
        return self._random.choices(variants, weights=[v.weight for v in variants])[0]

    async def invoke(self, endpoint: str, body: bytes, content_type: str, accept: str,
                     target: str | None, caller_timeout_s: float | None = None) -> Answer:
        """``caller_timeout_s``: the caller gives up within this time (the gateway's integration
        timeout); when it is shorter than the model timeout, the model timeout can never fire first,
        so no timer is armed for it."""
        if endpoint != self.endpoint_name:
            return _error(400, "ValidationError", f"Endpoint {endpoint} not found.")
        variant = self._choose(target)
        if variant is None:
            return _error(400, "ValidationError",
                          f"The variant {target!r} of endpoint {endpoint} does not exist; "
                          f"known variants: {', '.join(self.variants)}")
        if len(body) > self.limits.max_invocation_bytes:
            return _error(413, "ValidationError", PAYLOAD_TOO_LARGE.format(limit=self.limits.max_invocation_bytes))
        admission = self._admission[variant.name]
        try:
            async with admission:
                return await self._call(variant, body, content_type, accept,
                                        caller_timeout_s is None or caller_timeout_s >= self.limits.model_timeout_s)
        except QueueFull:
            return _error(429, "ThrottlingException", THROTTLED.format(variant=variant.name, waiting=admission.waiting))

    async def _call(self, variant: Variant, body: bytes, content_type: str, accept: str, timed: bool) -> Answer:
        """One call within the model timeout (``timed``: no caller gives up sooner); the admission
        slot bounds the open connections."""
        started = time.perf_counter()
        fault = self.faults_of().get(variant.name)
        if fault is not None:
            injected = await self._inject(variant.name, fault, started)
            if injected is not None:
                return injected
        try:
            async with asyncio.timeout(self.limits.model_timeout_s) if timed else contextlib.nullcontext():
                answer = await self._clients[variant.name].post(
                    self._paths[variant.name], body, {"Content-Type": content_type, "Accept": accept})
        except ModelUnreachable as error:
            self.metrics.record(variant.name, 500, (time.perf_counter() - started) * 1e6)
            return self._model_error(variant.name, 0, NO_RESPONSE.format(variant=variant.name, error=error).encode())
        except TimeoutError:
            self.metrics.record(variant.name, 500, (time.perf_counter() - started) * 1e6)
            return self._model_error(variant.name, 0, TIMED_OUT.format(variant=variant.name).encode())
        status, payload = answer.status, answer.body
        self.metrics.record(variant.name, status, (time.perf_counter() - started) * 1e6)
        if status >= 400:
            return self._model_error(variant.name, status, payload)
        return Answer(200, {"Content-Type": answer.headers.get("content-type", content_type),
                            INVOKED_HEADER: variant.name}, payload)

    async def _inject(self, variant: str, fault: Fault, started: float) -> Answer | None:
        """A rehearsal's fault: a hang until the model timeout, added latency, or a model 500."""
        if fault.hang:
            await asyncio.sleep(self.limits.model_timeout_s)
            self.metrics.record(variant, 500, (time.perf_counter() - started) * 1e6)
            return self._model_error(variant, 0, TIMED_OUT.format(variant=variant).encode())
        if fault.added_latency_ms:
            await asyncio.sleep(fault.added_latency_ms / 1000.0)
        if fault.error_rate and self._fault_draw.random() < fault.error_rate:
            self.metrics.record(variant, 500, (time.perf_counter() - started) * 1e6)
            return self._model_error(variant, 500, FAULT_ANSWER)
        return None

    def _model_error(self, variant: str, status: int, payload: bytes) -> Answer:
        original = payload.decode("utf-8", "replace")  # SageMaker passes the body on as it is
        side = "client" if 400 <= status < 500 else "server"
        message = (f"Received {side} error ({status}) from primary with message \"{original}\". "
                   f"See the log of variant {variant}.")
        kind = "CLIENT_ERROR_FROM_MODEL" if side == "client" else "SERVER_ERROR_FROM_MODEL"
        return _error(424, "ModelError", message, variant, OriginalStatusCode=status, OriginalMessage=original,
                      ModelErrorCode=kind)


def _client_of(variant: Variant) -> ModelClient:
    address = urllib.parse.urlsplit(variant.url)
    assert address.hostname is not None, f"{variant.url}: a model server's URL names its host"
    return ModelClient(address.hostname, address.port or 80, CONNECT_TIMEOUT_S)


def _invocations_path(variant: Variant) -> str:
    """The container's /invocations under the variant URL's own path (a server may sit below one)."""
    return urllib.parse.urlsplit(variant.url).path.rstrip("/") + "/invocations"


def create_app(runtime: SageMakerRuntime) -> Starlette:
    async def invocations(request: Request) -> Response:
        limit = runtime.limits.max_invocation_bytes
        try:
            body = await read_body(request.scope, request.receive, limit)
        except BodyTooLarge:
            result = _error(413, "ValidationError", PAYLOAD_TOO_LARGE.format(limit=limit))
        else:
            result = await runtime.invoke(request.path_params["endpoint"], body,
                                          request.headers.get("content-type", JSON),
                                          request.headers.get("accept", JSON), request.headers.get(TARGET_HEADER))
        return _response(result)

    async def metrics(request: Request) -> Response:
        text = request.query_params.get("since", "0") or "0"
        since = _epoch_seconds(text)
        if since is None:
            return _response(_error(400, "ValidationError", BAD_SINCE.format(value=text[:40])))
        return _response(json_answer(200, runtime.metrics.snapshot(since).to_json()))

    return Starlette(routes=[Route("/endpoints/{endpoint}/invocations", invocations, methods=["POST"]),
                             Route("/metrics", metrics, methods=["GET"])])


def _epoch_seconds(text: str) -> float | None:
    """``since`` as a time, or None: ``nan`` and ``inf`` parse as floats but name no minute."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _response(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)
