"""AWS WAF's rate-based rule on the local stage (``api.waf``, rules in ``core.waf_rules``).

A client IP past ``rateLimitPer5Min`` requests in the last five minutes is blocked with API
Gateway's WAF_FILTERED gateway response (403 ``{"message":"Forbidden"}``), before the stage sees
the request, until its count falls back under the limit. AWS WAF checks the rate "frequently" and
blocks "near the limit" (Developer Guide, "Rate-based rule high-level settings"); here the count is
exact, per request, over a sliding window, and blocked requests are not counted. AWS's managed rule
groups are AWS's own unpublished rules and are not emulated; the start-up banner says so.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from core.waf_rules import RATE_WINDOW_S, RULES
from emulator.gateway_context import RequestContext
from emulator.gateway_errors import GatewayError, GatewayErrorKind

MSG_BANNER = ("AWS WAF: a client IP is blocked (403) past {limit} requests in 5 minutes; the managed rule groups "
              "({managed}) are not emulated locally")


def banner(limit: int) -> str:
    return MSG_BANNER.format(limit=limit, managed=", ".join(rule.name for rule in RULES if rule.managed))


class RateRule:
    """The pipeline step, first of all: WAF sees a request before API Gateway does."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def admit(self, context: RequestContext) -> None:
        waf = context.state.config.api.waf
        if waf is None:
            return
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(context.source_ip, deque())
            while times and now - times[0] >= RATE_WINDOW_S:
                times.popleft()
            if len(times) >= waf.rate_limit_per_5min:
                raise GatewayError(GatewayErrorKind.WAF_FILTERED)
            times.append(now)
