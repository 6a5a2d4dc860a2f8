"""API keys and the usage plan's quota, as API Gateway applies them to a method that requires a key.

With ``api.auth: api_key`` the deployed method requires a key (``x-api-key``, the REST API's key
source HEADER) and the usage plan counts every request made with it. API Gateway answers a request
without a valid key with the gateway response INVALID_API_KEY (403, "Forbidden") and one past the
plan's quota with QUOTA_EXCEEDED (429, "Limit Exceeded") (developer guide, "Gateway response types
for API Gateway"). Locally the key is ``ratings:local.apiKey``, or one made at start and printed.

Quota periods are counted in UTC: a DAY from midnight, a WEEK from Monday, a MONTH from the 1st
(AWS documents the periods, not their boundaries; a usage plan's offset is not emulated).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from core.config import QuotaPeriod
from core.config_edge import AuthMode
from emulator.gateway_context import RequestContext
from emulator.gateway_errors import GatewayError, GatewayErrorKind

API_KEY_HEADER = "x-api-key"


def new_key() -> str:
    return secrets.token_urlsafe(30)  # 40 characters, within API Gateway's 20 to 128


def period_start(period: QuotaPeriod, now: float) -> dt.date:
    day = dt.datetime.fromtimestamp(now, dt.UTC).date()
    if period is QuotaPeriod.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if period is QuotaPeriod.MONTH:
        return day.replace(day=1)
    return day


class ApiKeys:
    """The pipeline step: a key check and the quota count, when the stage requires a key."""

    def __init__(self, key: str, clock: Callable[[], float] = time.time):
        self.key, self._clock = key, clock
        self._lock = threading.Lock()
        self._used: dict[tuple[QuotaPeriod, dt.date], int] = {}

    def admit(self, context: RequestContext) -> None:
        api = context.state.config.api
        if api.auth is not AuthMode.API_KEY:
            return
        given = context.header(API_KEY_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.key.encode()):
            raise GatewayError(GatewayErrorKind.INVALID_API_KEY)
        if api.quota is not None:
            self._count(api.quota.period, api.quota.limit)

    def _count(self, period: QuotaPeriod, limit: int) -> None:
        started = (period, period_start(period, self._clock()))
        with self._lock:
            used = self._used.get(started, 0)
            if used >= limit:
                raise GatewayError(GatewayErrorKind.QUOTA_EXCEEDED)
            self._used = {started: used + 1}  # earlier periods are over
