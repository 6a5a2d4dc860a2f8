"""A local API Gateway for the ratings API: the stage, the canary, the templates, the logs.

A request becomes a ``RequestContext`` and goes through the steps API Gateway takes, in order:
match the resource, validate the required parameters, throttle, draw the canary (stage-variable
overrides), render the request template, map integration request parameters (the template's
overrides win), invoke the SageMaker runtime within the integration timeout, select the
integration response by status pattern and render it. A step that fails raises a
``GatewayError``, answered with the document's gateway response; every request, answered or
refused, writes one access-log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import urllib.parse
from collections.abc import Callable

from core.config import Throttle
from emulator import steps
from emulator.api_keys import ApiKeys, new_key
from emulator.cognito import UserPoolAuthorizer
from emulator.constants import JSON, TARGET_VARIANT_HEADER
from emulator.gateway_context import RequestContext
from emulator.gateway_errors import GatewayError, GatewayErrorKind, render
from emulator.gateway_state import StateHolder
from emulator.http import Answer
from emulator.limits import Limits
from emulator.metrics import VariantMetrics
from emulator.runtime import SageMakerRuntime
from emulator.stage_cache import StageCache
from emulator.throttle import TokenBucket
from emulator.waf import RateRule

__all__ = ["Answer", "Gateway", "GatewayError"]

LOG = logging.getLogger("ratings.gateway")
LOG_LINE = json.JSONEncoder(separators=(",", ":"))  # made once: json.dumps with options makes one per call
MSG_LOG_UNWRITABLE = ("the access log cannot be written (%s); answers go on unlogged, and /metrics counts the lines "
                      "lost (AccessLogWriteFailures)")


class Gateway:
    def __init__(self, states: StateHolder, runtime: SageMakerRuntime, access_log: Callable[[str], None] = print,
                 limits: Limits | None = None, answers: VariantMetrics | None = None, api_key: str | None = None):
        self.states = states
        self.runtime = runtime
        self.answers = answers  # where each answer is counted against its version (the runtime's /metrics)
        self.log_failures = 0
        self.access_log = access_log
        self.limits = limits or Limits()
        self._random = random.Random(states.state.config.local.canary_seed)
        self._throttle_settings: Throttle | None = None
        self._bucket: TokenBucket | None = None
        self.api_keys = ApiKeys(api_key or new_key())  # used when the stage requires a key
        self.waf = RateRule()
        self.user_pool = UserPoolAuthorizer()
        self.cache = StageCache(report=LOG.info)
        # API Gateway's order: WAF, the resource, the authorizer, the key and quota, validation, throttling
        self._before_integration = (self._filter, steps.route, self._authorize, self.api_keys.admit, steps.validate,
                                    self._throttle, self._draw_canary, steps.render_request,
                                    steps.map_integration_headers)

    async def handle(self, method: str, raw_path: str, query_string: str, headers: dict[str, str],
                     source_ip: str = "127.0.0.1") -> Answer:
        context = RequestContext(method.upper(), raw_path, _query(query_string),
                                 {name.lower(): value for name, value in headers.items()}, source_ip,
                                 self.states.current())
        try:
            for step in self._before_integration:
                step(context)
            if not self._from_cache(context):
                await self._invoke(context)
                steps.integration_response(context)
                self.cache.store(context)
        except GatewayError as error:
            self._fail(context, error)
        self._log(context)
        assert context.answer is not None, "set by integration_response or _fail"
        return context.answer

    def refuse(self, method: str, raw_path: str, source_ip: str, error: GatewayError) -> Answer:
        """A request stopped before the pipeline (too large, too slow, malformed): answered and logged."""
        context = RequestContext(method.upper(), raw_path, {}, {}, source_ip, self.states.state)
        self._fail(context, error)
        self._log(context)
        assert context.answer is not None, "set by _fail"
        return context.answer

    def _from_cache(self, context: RequestContext) -> bool:
        """Answer from the stage cache (``emulator.stage_cache``) when it holds a fresh answer."""
        cached = self.cache.lookup(context)
        if cached is None:
            return False
        context.answer, context.cache_hit = cached, True
        return True

    def _filter(self, context: RequestContext) -> None:
        """AWS WAF in front of the stage (``emulator.waf``)."""
        self.waf.admit(context)

    def _authorize(self, context: RequestContext) -> None:
        """A Cognito user pool authorizer, when the stage has one (``emulator.cognito``)."""
        self.user_pool.admit(context)

    def _fail(self, context: RequestContext, error: GatewayError) -> None:
        context.error_type = error.kind.value
        context.answer = render(context.state.gateway_responses, error)

    def _throttle(self, context: RequestContext) -> None:
        """Stage throttling as a token bucket; a changed rate or burst applies at once."""
        settings = context.state.config.api.throttle
        if settings != self._throttle_settings:
            self._throttle_settings = settings
            self._bucket = TokenBucket(settings.rate_limit, settings.burst_limit)
        assert self._bucket is not None, "made with the first settings seen"
        if not self._bucket.take():
            raise GatewayError(GatewayErrorKind.THROTTLED)

    def _draw_canary(self, context: RequestContext) -> None:
        state, canary = context.state, context.state.canary
        if canary is not None and self._random.random() * 100 < canary.percent_traffic:
            context.stage_variables, context.is_canary = {**state.stage_variables,
                                                          **canary.stage_variable_overrides}, True
        else:
            context.stage_variables = state.stage_variables

    async def _invoke(self, context: RequestContext) -> None:
        headers, operation = context.integration_headers, context.operation
        assert operation is not None, "set by the route step"
        try:
            async with asyncio.timeout(self.limits.integration_timeout_s):
                context.invocation = await self.runtime.invoke(
                    operation.endpoint_name, context.integration_body,
                    headers.get("content-type", JSON), headers.get("accept", JSON), headers.get(TARGET_VARIANT_HEADER),
                    caller_timeout_s=self.limits.integration_timeout_s)
        except TimeoutError:
            raise GatewayError(GatewayErrorKind.INTEGRATION_TIMEOUT) from None

    def _log(self, context: RequestContext) -> None:
        """The access-log line, and the answer counted against the version the request was sent to
        (requests refused before a version was chosen count against none)."""
        self._write(LOG_LINE.encode(context.log_line()))
        variant = context.integration_headers.get(TARGET_VARIANT_HEADER)
        if self.answers is not None and variant and context.answer is not None:
            self.answers.record_answer(variant, context.answer.status,
                                       context.error_type == GatewayErrorKind.INTEGRATION_TIMEOUT.value,
                                       cached=context.cache_hit)


    def _write(self, line: str) -> None:
        """A log line that cannot be written (a full disk) never reaches an answer: the failures are
        counted (``/metrics``: AccessLogWriteFailures) and said once on the console."""
        try:
            self.access_log(line)
        except OSError as error:
            self.log_failures += 1
            if self.log_failures == 1:
                LOG.warning(MSG_LOG_UNWRITABLE, error)
            if self.answers is not None:
                self.answers.count_log_failure()


def _query(query_string: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
