"""API Gateway's GetStage for the local stage: what the running gateway serves, asked the way one
asks AWS (``GET /restapis/{restapi_id}/stages/{stage_name}``, the REST API's management call).

It answers on the runtime's port, beside ``/metrics``, because the gateway's own port answers
every path as the deployed stage would. ``canary`` reads the served routing through it with the
same interpretation it would apply to AWS's answer (``core.routing.served_by_get_stage``), so neither
side knows the other's internals; boto3's ``apigateway`` client parses it as it parses AWS's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from core.routing import LOCAL_REST_API_ID
from emulator.gateway_state import GatewayState
from emulator.http import Answer, Receive, Send, json_answer, send_answer

LOCAL_DEPLOYMENT = "local-deployment"
PATH = re.compile(r"/restapis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)")

MSG_NO_API = "Invalid API identifier specified: the local API is {api}"
MSG_NO_STAGE = "Invalid stage identifier specified: the local stage is {stage}"
MSG_METHOD = "{method} is not supported on {path}; the local stage answers GET"


def stage_document(state: GatewayState) -> dict[str, Any]:
    """The GetStage response of the stage ``state`` serves."""
    document: dict[str, Any] = {"deploymentId": LOCAL_DEPLOYMENT, "stageName": state.stage,
                                "variables": dict(state.stage_variables), "tracingEnabled": False,
                                "createdDate": int(state.loaded_at), "lastUpdatedDate": int(state.loaded_at)}
    if state.canary is not None:
        document["canarySettings"] = {"percentTraffic": state.canary.percent_traffic,
                                      "deploymentId": LOCAL_DEPLOYMENT,
                                      "stageVariableOverrides": dict(state.canary.stage_variable_overrides),
                                      "useStageCache": False}
    return document


def _error(status: int, kind: str, message: str) -> Answer:
    return json_answer(status, {"message": message}, {"x-amzn-ErrorType": kind})


def respond(state: GatewayState, method: str, path: str) -> Answer:
    match = PATH.fullmatch(path)
    if match is None or match["api"] != LOCAL_REST_API_ID:
        return _error(404, "NotFoundException", MSG_NO_API.format(api=LOCAL_REST_API_ID))
    if match["stage"] != state.stage:
        return _error(404, "NotFoundException", MSG_NO_STAGE.format(stage=state.stage))
    if method not in ("GET", "HEAD"):
        return _error(405, "MethodNotAllowedException", MSG_METHOD.format(method=method, path=path))
    return json_answer(200, stage_document(state))


def with_stage_api(app: Callable[..., Any], current: Callable[[], GatewayState]) -> Callable[..., Any]:
    """``app`` (any ASGI app) with GetStage answered under ``/restapis/``."""

    async def wrapped(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/restapis/"):
            await app(scope, receive, send)
            return
        await send_answer(send, respond(current(), scope["method"], path), head_only=scope["method"] == "HEAD")

    return wrapped
