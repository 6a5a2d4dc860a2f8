"""Names shared by the local gateway, runtime and model-server supervision: one spelling each."""

from __future__ import annotations

from core import routing

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

RESOURCE_PATH = "/predicted-ratings/{user_id}"

# SageMaker runtime headers (lower case, as ASGI and aiohttp hand them over).
TARGET_VARIANT_HEADER = routing.TARGET_VARIANT_HEADER.lower()
INVOKED_HEADER = routing.INVOKED_VARIANT_HEADER
ERROR_TYPE_HEADER = "x-amzn-ErrorType"
CONTENT_TYPE_HEADER = "Content-Type"
ACCEPT_HEADER = "Accept"
USER_AGENT_HEADER = "user-agent"
