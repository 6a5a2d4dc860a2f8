"""One request's journey through the local gateway, as a typed record the steps fill in.

Each step of ``emulator.gateway`` reads what earlier steps left here and adds its own part, so
the order of API Gateway's processing is visible in one list and no step keeps state on the side.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.constants import INVOKED_HEADER, TARGET_VARIANT_HEADER
from emulator.http import Answer

if TYPE_CHECKING:
    from emulator.gateway_state import GatewayState, Operation
    from emulator.vtl import RequestData
    from emulator.vtl.engine import Rendered


_IDS = random.Random()  # seeded from the OS once; a request id needs uniqueness, not secrecy


def _request_id() -> str:
    """A version-4 UUID, as API Gateway's request ids are, without a getrandom syscall per request."""
    return str(uuid.UUID(int=_IDS.getrandbits(128), version=4))


@dataclass(slots=True)  # made per request: slots make it and its reads cheaper
class RequestContext:
    # what the client sent
    method: str
    raw_path: str  # percent-encoded, exactly as on the request line
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    source_ip: str
    state: GatewayState  # fixed for the whole request, even if the stack file changes meanwhile
    request_id: str = field(default_factory=_request_id)
    started: float = field(default_factory=time.perf_counter)
    # filled in by the steps, in order
    operation: Operation | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    is_canary: bool = False
    template_data: RequestData | None = None
    request_rendered: Rendered | None = None  # its overrides reach the response template, as on AWS
    integration_body: bytes = b""
    integration_headers: dict[str, str] = field(default_factory=dict)
    invocation: Answer | None = None  # the SageMaker runtime's answer
    answer: Answer | None = None
    error_type: str = ""
    cache_hit: bool = False  # answered from the stage cache (api.cache)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def log_line(self) -> dict[str, Any]:
        """The access-log record (the fields of an API Gateway $context access-log format)."""
        invocation = self.invocation
        return {"requestId": self.request_id, "time": _second_stamp(),
                "ip": self.source_ip, "method": self.method, "path": self.raw_path, "stage": self.state.stage,
                "status": self.answer.status if self.answer else 0,
                "latencyMs": round((time.perf_counter() - self.started) * 1000, 2),
                "variant": _invoked_variant(invocation), "isCanary": self.is_canary,
                # the version the request was sent to, answered or not: a timeout has no variant
                "targetVariant": self.integration_headers.get(TARGET_VARIANT_HEADER, ""),
                "integrationStatus": invocation.status if invocation else "", "errorType": self.error_type,
                "cacheHit": self.cache_hit}


_STAMP: list = [-1, ""]  # the last second formatted, and its text: one strftime a second, not a request


def _second_stamp() -> str:
    second = int(time.time())
    if second != _STAMP[0]:
        _STAMP[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second))]
    return str(_STAMP[1])


def _invoked_variant(invocation: Answer | None) -> str:
    return invocation.headers.get(INVOKED_HEADER, "") if invocation else ""
