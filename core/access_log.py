"""What the API stage writes to its access log: one JSON line per request, and the metric filters
that count those lines per version.

Access logs see only ``$context``, not stage variables, so the versions of the routing are written
into the format as literals and ``isCanary`` tells which of them answered. API Gateway's own
metrics cannot split a stage's answers by version (their dimensions are ApiName, Stage, and
method; the canary's are documented to exist, not by which dimension), so the stack counts the
access log's lines itself with CloudWatch Logs metric filters: every answer the API gave, its
timeouts and 5xx included, against the version it was sent to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from core.routing import CanaryMode, Routing

# always a number in API Gateway's access log, so written unquoted: a JSON metric filter compares
# it as one ("Filter pattern syntax": numeric comparisons in JSON patterns)
NUMERIC = "$context.status"


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
        "status": NUMERIC,
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatencyMs": "$context.integration.latency",
        "errorType": "$context.error.responseType",
        "liveVersion": routing.live,
        "canaryVersion": canary.version if canary else "",
        "canaryMode": canary.mode.value if canary else "",
        "isCanary": "$context.isCanaryRequest",
    }
    return json.dumps(fields, separators=(",", ":")).replace(f'"{NUMERIC}"', NUMERIC)


class LogSide(StrEnum):
    """Which copy of the access log a filter reads: the stage's group, or the ``/Canary`` group
    API Gateway writes the canary's requests to ("Set up an API Gateway canary release deployment")."""

    STAGE = "stage"
    CANARY = "canary"


ANSWERS, CLIENT_ERRORS, SERVER_ERRORS, TIMEOUTS = "Answers", "ClientErrors", "ServerErrors", "IntegrationTimeouts"
CACHED = "CachedAnswers"
STAGE_DIMENSION, VERSION_DIMENSION = "Stage", "Version"

# A 200 without an integration call is the stage cache's (api.cache): API Gateway writes "-" for a
# variable without a value ("Customize HTTP API access logs" / access-log variables), and the
# integration's latency has none when it was not called. UNCONFIRMED on a live stage.
_WHAT = {ANSWERS: "", CLIENT_ERRORS: "($.status >= 400) && ($.status < 500)", SERVER_ERRORS: "$.status >= 500",
         TIMEOUTS: '$.errorType = "INTEGRATION_TIMEOUT"', CACHED: '($.status = 200) && ($.integrationLatencyMs = "-")'}
# $context.isCanaryRequest is "true" or "false" while a canary is set and absent otherwise, so live's
# lines are those not marked "true". A sticky canary splits inside the template, which the access
# log cannot see: its lines are counted for no version, and the judge reads the model's own counts.
_WHOSE = {LogSide.STAGE: f'($.isCanary != "true") && ($.canaryMode != "{CanaryMode.STICKY.value}")',
          LogSide.CANARY: f'($.isCanary = "true") && ($.canaryMode != "{CanaryMode.STICKY.value}")'}
_VERSION_FIELD = {LogSide.STAGE: "$.liveVersion", LogSide.CANARY: "$.canaryVersion"}


@dataclass(frozen=True)
class AnswerFilter:
    """One CloudWatch Logs metric filter: a count of 1 per matching line, by stage and version."""

    side: LogSide
    metric: str
    pattern: str
    dimensions: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.side.value}-{self.metric}"


def answer_filters() -> tuple[AnswerFilter, ...]:
    return tuple(AnswerFilter(side, metric, _pattern(_WHOSE[side], what),
                              {STAGE_DIMENSION: "$.stage", VERSION_DIMENSION: _VERSION_FIELD[side]})
                 for side in LogSide for metric, what in _WHAT.items())


def _pattern(whose: str, what: str) -> str:
    return f"{{ {whose} && ({what}) }}" if what else f"{{ {whose} }}"
