"""What the API stage writes to its access log: one JSON line per request.

Access logs see only ``$context``, not stage variables, so the versions of the routing are written
into the format as literals and ``isCanary`` tells which of them answered.
"""

from __future__ import annotations

import json

from core.routing import Routing


def format_of(routing: Routing) -> str:
    """The stage's ``accessLogSettings.format`` for ``routing``."""
    canary = routing.canary
    fields = {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "time": "$context.requestTimeEpoch",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "stage": "$context.stage",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatencyMs": "$context.integration.latency",
        "errorType": "$context.error.responseType",
        "liveVersion": routing.live,
        "canaryVersion": canary.version if canary else "",
        "canaryMode": canary.mode.value if canary else "",
        "isCanary": "$context.isCanaryRequest",
    }
    return json.dumps(fields, separators=(",", ":"))
