"""The limits the local runtime enforces, with the AWS quota each one stands in for.

Defaults are AWS's; each can be lowered through an environment variable so a test (or a
rehearsal of a slow model) does not wait 29 seconds for a timeout.

- API Gateway REST API quotas ("Amazon API Gateway quotas for configuring and running a REST
  API", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html):
  integration timeout 50 ms - 29 s, payload size 10 MB, total combined size of request line and
  header values 10,240 bytes.
- SageMaker InvokeEndpoint (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html):
  request payload at most 6 MB; the container must answer within 60 s.
- Client header and body timeouts are not published by AWS; ours close idle slow clients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

MB = 1024 * 1024

ENVIRONMENT = {
    "integration_timeout_s": "RATINGS_INTEGRATION_TIMEOUT_S",
    "model_timeout_s": "RATINGS_MODEL_TIMEOUT_S",
    "header_timeout_s": "RATINGS_HEADER_TIMEOUT_S",
    "body_timeout_s": "RATINGS_BODY_TIMEOUT_S",
    "max_header_bytes": "RATINGS_MAX_HEADER_BYTES",
    "max_request_bytes": "RATINGS_MAX_REQUEST_BYTES",
    "max_invocation_bytes": "RATINGS_MAX_INVOCATION_BYTES",
    "connections_per_variant": "RATINGS_CONNECTIONS_PER_VARIANT",
    "queue_per_variant": "RATINGS_QUEUE_PER_VARIANT",
    "health_every_s": "RATINGS_HEALTH_EVERY_S",
    "health_timeout_s": "RATINGS_HEALTH_TIMEOUT_S",
    "unhealthy_after": "RATINGS_UNHEALTHY_AFTER",
}
NOT_POSITIVE = "{name}={text!r} must be a positive number"


@dataclass(frozen=True)
class Limits:
    integration_timeout_s: float = 29.0
    model_timeout_s: float = 60.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_header_bytes: int = 10_240
    max_request_bytes: int = 10 * MB
    max_invocation_bytes: int = 6 * MB
    connections_per_variant: int = 32  # open connections to one model server
    queue_per_variant: int = 2048  # invocations waiting for one of them; beyond: throttled
    # health checks of the model servers (SageMaker pings a container and replaces an instance that
    # fails them; its own timings are not published): a /ping every 5 s, failed past 2 s, and a
    # server failing 3 in a row (15 s, as a hung or stopped process does) is replaced
    health_every_s: float = 5.0
    health_timeout_s: float = 2.0
    unhealthy_after: int = 3

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            text = env.get(ENVIRONMENT[spec.name])
            if text is not None:
                values[spec.name] = _positive(ENVIRONMENT[spec.name], text, float if spec.type == "float" else int)
        return cls(**values)


def _positive(name: str, text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(NOT_POSITIVE.format(name=name, text=text)) from None
    if value <= 0:
        raise ValueError(NOT_POSITIVE.format(name=name, text=text))
    return value
