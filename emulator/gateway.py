"""A local API Gateway for the ratings API: the stage, the canary, the templates, the logs.

Each request goes the way API Gateway takes it: match the resource, validate the required
parameters, throttle, draw the canary (stage-variable overrides), render the request template,
map integration request parameters then apply the template's overrides, invoke the SageMaker
runtime, select the integration response by status pattern, render its template, map response
headers, answer errors with the document's gateway responses, and write one access-log line.
"""

from __future__ import annotations

import json
import random
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from emulator.gateway_state import GatewayState, IntegrationResponse, Operation, StateHolder
from emulator.runtime import INVOKED_HEADER, SageMakerRuntime
from emulator.throttle import TokenBucket
from emulator.vtl import RequestData, TemplateError

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    source_ip: str
    request_id: str
    started: float


class GatewayError(Exception):
    """Answered with the document's gateway response of ``kind``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class Gateway:
    def __init__(self, states: StateHolder, runtime: SageMakerRuntime, access_log: Callable[[str], None] = print):
        self.states = states
        self.runtime = runtime
        self.access_log = access_log
        config = states.state.config
        self._random = random.Random(config.local.canary_seed)
        self._bucket = TokenBucket(config.api.throttle.rate_limit, config.api.throttle.burst_limit)

    async def handle(self, method: str, raw_path: str, query_string: str, headers: dict[str, str],
                     source_ip: str = "127.0.0.1") -> Answer:
        state = self.states.current()  # fixed for the whole request, even if the file changes
        request = _Request(method.upper(), raw_path, dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True)),
                           headers, source_ip, str(uuid.uuid4()), time.perf_counter())
        log: dict[str, Any] = {"variant": "", "isCanary": False, "integrationStatus": "", "errorType": ""}
        try:
            answer = await self._serve(state, request, log)
        except GatewayError as error:
            log["errorType"] = error.kind
            answer = _gateway_response(state, error)
        self._log(state, request, answer, log)
        return answer

    async def _serve(self, state: GatewayState, request: _Request, log: dict[str, Any]) -> Answer:
        operation, path_params = _route(state, request)
        _validate(operation, path_params, request)
        if not self._bucket.take():
            raise GatewayError("THROTTLED", "Too Many Requests")
        stage_variables, log["isCanary"] = self._stage_variables(state)
        context = _context(state, request, log["isCanary"])
        data = RequestData(path=path_params, querystring=request.query, headers=request.headers,
                           stage_variables=stage_variables, context=context)
        try:
            rendered = operation.request_template.render(data)
        except TemplateError as error:
            raise GatewayError("DEFAULT_5XX", f"Internal server error: {error}") from None
        integration_headers = _integration_headers(operation, data)
        integration_headers.update(rendered.request_headers)  # template overrides win
        result = await self.runtime.invoke(operation.endpoint_name, rendered.body.encode(),
                                           integration_headers.get("Content-Type", JSON),
                                           integration_headers.get("Accept", JSON),
                                           _header(integration_headers, "X-Amzn-SageMaker-Target-Variant"))
        log["integrationStatus"] = result.status
        log["variant"] = result.headers.get(INVOKED_HEADER, "")
        return _integration_response(operation, data, result)

    def _stage_variables(self, state: GatewayState) -> tuple[dict[str, str], bool]:
        canary = state.canary
        if canary is not None and self._random.random() * 100 < canary.percent_traffic:
            return {**state.stage_variables, **canary.stage_variable_overrides}, True
        return state.stage_variables, False

    def _log(self, state: GatewayState, request: _Request, answer: Answer, log: dict[str, Any]) -> None:
        line = {"requestId": request.request_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "ip": request.source_ip, "method": request.method, "path": request.path, "stage": state.stage,
                "status": answer.status, "latencyMs": round((time.perf_counter() - request.started) * 1000, 2),
                **log}
        self.access_log(json.dumps(line, separators=(",", ":")))


def _route(state: GatewayState, request: _Request) -> tuple[Operation, dict[str, str]]:
    stage, _, rest = request.path.lstrip("/").partition("/")
    if stage == state.stage:
        for operation in state.operations:
            match = operation.path.match("/" + rest)
            if match and operation.method == request.method:
                return operation, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
    raise GatewayError("MISSING_AUTHENTICATION_TOKEN",
                       f"No resource for {request.method} {request.path}; "
                       f"the API serves GET /{state.stage}/predicted-ratings/{{user_id}}?items=...")


def _validate(operation: Operation, path_params: dict[str, str], request: _Request) -> None:
    if not operation.validate_parameters:
        return
    present = {"path": path_params, "querystring": request.query,
               "header": {k.lower(): v for k, v in request.headers.items()}}
    missing = [name for location, names in operation.required.items() for name in names
               if (name.lower() if location == "header" else name) not in present[location]]
    if missing:
        raise GatewayError("BAD_REQUEST_PARAMETERS", f"Missing required request parameters: [{', '.join(missing)}]")


def _context(state: GatewayState, request: _Request, is_canary: bool) -> dict[str, Any]:
    return {"requestId": request.request_id, "extendedRequestId": request.request_id, "stage": state.stage,
            "httpMethod": request.method, "path": request.path, "resourcePath": "/predicted-ratings/{user_id}",
            "isCanaryRequest": is_canary, "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": request.source_ip, "userAgent": request.headers.get("user-agent", "")}}


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def _mapping_value(expression: str, data: RequestData) -> str | None:
    """An API Gateway parameter-mapping source: 'static', stageVariables.x, method.request.*."""
    if expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression.startswith("stageVariables."):
        return data.stage_variables.get(expression.split(".", 1)[1])
    sources = {"method.request.path.": data.path, "method.request.querystring.": data.querystring}
    for prefix, values in sources.items():
        if expression.startswith(prefix):
            return values.get(expression[len(prefix):])
    if expression.startswith("method.request.header."):
        return _header(data.headers, expression[len("method.request.header."):])
    return None


def _integration_headers(operation: Operation, data: RequestData) -> dict[str, str]:
    headers = {}
    for target, source in operation.request_parameters.items():
        if target.startswith("integration.request.header."):
            value = _mapping_value(source, data)
            if value is not None:
                headers[target[len("integration.request.header."):]] = value
    return headers


def _select(operation: Operation, status: int) -> IntegrationResponse:
    text = str(status)
    for response in operation.responses:
        if response.pattern is None or response.pattern.fullmatch(text):
            return response
    raise AssertionError("the document always has a default integration response")


def _integration_response(operation: Operation, data: RequestData, result) -> Answer:
    response = _select(operation, result.status)
    try:
        rendered = response.template.render(RequestData(
            path=data.path, querystring=data.querystring, headers=data.headers,
            body=result.body.decode("utf-8", "replace"), stage_variables=data.stage_variables,
            context=data.context))
    except TemplateError as error:
        raise GatewayError("DEFAULT_5XX", f"Internal server error: {error}") from None
    headers = {"Content-Type": JSON}
    for target, source in response.parameters.items():
        if target.startswith("method.response.header.") and source.startswith("integration.response.header."):
            value = _header(result.headers, source[len("integration.response.header."):])
            if value is not None:
                headers[target[len("method.response.header."):]] = value
    headers.update(rendered.response_headers)
    return Answer(rendered.status or response.status, rendered.body.encode(), headers)


DEFAULT_STATUS = {"DEFAULT_4XX": 400, "DEFAULT_5XX": 500}


def _gateway_response(state: GatewayState, error: GatewayError) -> Answer:
    responses = state.gateway_responses
    spec = responses.get(error.kind) or responses.get("DEFAULT_5XX" if error.kind.startswith("DEFAULT_5") else
                                                      "DEFAULT_4XX", {})
    status = int(spec.get("statusCode", DEFAULT_STATUS.get(error.kind, 400)))
    template = spec.get("responseTemplates", {}).get(JSON, '{"message": $context.error.messageString}')
    body = (template.replace("$context.error.messageString", json.dumps(error.message))
            .replace("$context.error.responseType", error.kind))
    return Answer(status, body.encode(), {"Content-Type": JSON, "x-amzn-ErrorType": error.kind})
