"""The gateway's steps, each a short function of the request context (API Gateway's order).

Path parameters are percent-decoded exactly once, from the raw request path, as API Gateway
does: ``%2531`` is the five characters ``%31`` (not user 1), and ``%09``/``%0D``/``%0A`` stay in
the value for the template to judge.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from emulator.constants import JSON, RESOURCE_PATH, USER_AGENT_HEADER
from emulator.gateway_context import RequestContext
from emulator.gateway_errors import GatewayError, GatewayErrorKind
from emulator.gateway_state import IntegrationResponse, Operation
from emulator.http import Answer
from emulator.vtl import RequestData, TemplateError

NO_RESOURCE = "No resource for {method} {path}; the API serves GET /{stage}/predicted-ratings/{{user_id}}?items=..."
MISSING_PARAMETERS = "Missing required request parameters: [{names}]"
TEMPLATE_FAILED = "Internal server error: {error}"
REQUEST_HEADER = "integration.request.header."
METHOD_RESPONSE_HEADER = "method.response.header."
INTEGRATION_RESPONSE_HEADER = "integration.response.header."


def route(context: RequestContext) -> None:
    state = context.state
    stage, _, rest = context.raw_path.lstrip("/").partition("/")
    if stage == state.stage:
        for operation in state.operations:
            match = operation.path.match("/" + rest)
            if match and operation.method == context.method:
                context.operation = operation
                context.path_parameters = {name: urllib.parse.unquote(value)
                                           for name, value in match.groupdict().items()}
                return
    raise GatewayError(GatewayErrorKind.MISSING_AUTHENTICATION_TOKEN,
                       NO_RESOURCE.format(method=context.method, path=context.raw_path, stage=state.stage))


def validate(context: RequestContext) -> None:
    operation = context.operation
    assert operation is not None, "set by the route step"
    if not operation.validate_parameters:
        return
    present = {"path": context.path_parameters, "querystring": context.query, "header": context.headers}
    missing = [name for location, names in operation.required.items() for name in names
               if (name.lower() if location == "header" else name) not in present[location]]
    if missing:
        raise GatewayError(GatewayErrorKind.BAD_REQUEST_PARAMETERS, MISSING_PARAMETERS.format(names=", ".join(missing)))


def render_request(context: RequestContext) -> None:
    assert context.operation is not None, "set by the route step"
    context.template_data = RequestData(path=context.path_parameters, querystring=context.query,
                                        headers=context.headers, stage_variables=context.stage_variables,
                                        context=_template_context(context))
    rendered = context.request_rendered = _render(context.operation.request_template, context.template_data)
    context.integration_body = rendered.body.encode("utf-8", "replace")  # Java writes "?" for a lone surrogate
    context.integration_headers = {name.lower(): value for name, value in rendered.request_headers.items()}


def map_integration_headers(context: RequestContext) -> None:
    """Integration request parameters; values the template set through requestOverride win."""
    assert context.operation is not None, "set by the route step"
    mapped = {}
    for target, source in context.operation.request_parameters.items():
        if target.startswith(REQUEST_HEADER):
            value = _mapping_value(source, context)
            if value is not None:
                mapped[target[len(REQUEST_HEADER):].lower()] = value
    context.integration_headers = {**mapped, **context.integration_headers}


def integration_response(context: RequestContext) -> None:
    invocation, operation, data = context.invocation, context.operation, context.template_data
    assert invocation is not None and operation is not None and data is not None, "set by the earlier steps"
    response = _select(operation, invocation.status)
    rendered = _render(response.template, RequestData(
        path=data.path, querystring=data.querystring, headers=data.headers,
        body=invocation.body.decode("utf-8", "replace"), stage_variables=data.stage_variables,
        context=data.context), after=context.request_rendered)
    integration_headers = {name.lower(): value for name, value in invocation.headers.items()}
    headers = {"Content-Type": JSON}
    for target, source in response.parameters.items():
        if target.startswith(METHOD_RESPONSE_HEADER) and source.startswith(INTEGRATION_RESPONSE_HEADER):
            value = integration_headers.get(source[len(INTEGRATION_RESPONSE_HEADER):].lower())
            if value is not None:
                headers[target[len(METHOD_RESPONSE_HEADER):]] = value
    headers.update(rendered.response_headers)
    context.answer = Answer(rendered.status or response.status, headers, rendered.body.encode("utf-8", "replace"))


def _render(template, data: RequestData, after=None):
    try:
        return template.render(data, after=after)
    except TemplateError as error:
        raise GatewayError(GatewayErrorKind.DEFAULT_5XX, TEMPLATE_FAILED.format(error=error)) from None


def _template_context(context: RequestContext) -> dict[str, Any]:
    return {"requestId": context.request_id, "extendedRequestId": context.request_id,
            "stage": context.state.stage, "httpMethod": context.method, "path": context.raw_path,
            "resourcePath": RESOURCE_PATH, "isCanaryRequest": context.is_canary,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": context.source_ip, "userAgent": context.headers.get(USER_AGENT_HEADER, "")}}


def _mapping_value(expression: str, context: RequestContext) -> str | None:
    """An API Gateway parameter-mapping source: 'static', stageVariables.x, method.request.*."""
    if expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression.startswith("stageVariables."):
        return context.stage_variables.get(expression.split(".", 1)[1])
    sources = {"method.request.path.": context.path_parameters, "method.request.querystring.": context.query}
    for prefix, values in sources.items():
        if expression.startswith(prefix):
            return values.get(expression[len(prefix):])
    if expression.startswith("method.request.header."):
        return context.header(expression[len("method.request.header."):])
    return None


def _select(operation: Operation, status: int) -> IntegrationResponse:
    text = str(status)
    for response in operation.responses:
        if response.pattern is None or response.pattern.fullmatch(text):
            return response
    raise AssertionError("the document always has a default integration response")
