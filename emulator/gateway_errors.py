"""Gateway error kinds: each owns API Gateway's default status and message; one serializer.

The kinds and default statuses are API Gateway's gateway response types
(https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
The deployed document may override a kind's status and template; ``render`` applies that
override, so the local answer is the one the stage would give.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from emulator.constants import ERROR_TYPE_HEADER, JSON
from emulator.http import Answer

MESSAGE_REFERENCE = "$context.error.messageString"
TYPE_REFERENCE = "$context.error.responseType"
FALLBACK_TEMPLATE = '{"message": $context.error.messageString}'


class GatewayErrorKind(StrEnum):
    """A gateway response type with its default status (None: the DEFAULT_4XX/5XX family's)."""

    status: int
    message: str

    BAD_REQUEST_PARAMETERS = ("BAD_REQUEST_PARAMETERS", 400, "Invalid request parameters")
    BAD_REQUEST_BODY = ("BAD_REQUEST_BODY", 400, "Invalid request body")
    MISSING_AUTHENTICATION_TOKEN = ("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
    INVALID_API_KEY = ("INVALID_API_KEY", 403, "Forbidden")
    UNAUTHORIZED = ("UNAUTHORIZED", 401, "Unauthorized")
    WAF_FILTERED = ("WAF_FILTERED", 403, "Forbidden")
    QUOTA_EXCEEDED = ("QUOTA_EXCEEDED", 429, "Limit Exceeded")
    REQUEST_TOO_LARGE = ("REQUEST_TOO_LARGE", 413, "Request Too Large")
    THROTTLED = ("THROTTLED", 429, "Too Many Requests")
    INTEGRATION_FAILURE = ("INTEGRATION_FAILURE", 504, "Internal server error")
    INTEGRATION_TIMEOUT = ("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out")
    DEFAULT_4XX = ("DEFAULT_4XX", 400, "Bad request")
    DEFAULT_5XX = ("DEFAULT_5XX", 500, "Internal server error")

    def __new__(cls, value: str, status: int, message: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status, member.message = status, message
        return member

    @property
    def family(self) -> GatewayErrorKind:
        return GatewayErrorKind.DEFAULT_5XX if self.status >= 500 else GatewayErrorKind.DEFAULT_4XX


class GatewayError(Exception):
    """Answered with the gateway response of ``kind``; ``message`` defaults to the kind's."""

    def __init__(self, kind: GatewayErrorKind, message: str | None = None):
        super().__init__(message or kind.message)
        self.kind, self.message = kind, message or kind.message


def render(responses: dict[str, dict[str, Any]], error: GatewayError) -> Answer:
    """The one serializer: the document's gateway response for the kind, else its family's."""
    kind = error.kind
    spec = responses.get(kind.value) or responses.get(kind.family.value) or {}
    status = int(spec.get("statusCode") or kind.status)
    template = spec.get("responseTemplates", {}).get(JSON, FALLBACK_TEMPLATE)
    body = template.replace(MESSAGE_REFERENCE, json.dumps(error.message)).replace(TYPE_REFERENCE, kind.value)
    return Answer(status, {"Content-Type": JSON, ERROR_TYPE_HEADER: kind.value}, body.encode())
