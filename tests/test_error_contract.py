"""The error contract: one table of SageMaker runtime answers and what the API's client gets.

Each row is what SageMaker's runtime sends API Gateway in one situation (status and error
shapes from botocore's ``sagemaker-runtime`` service model: ModelError 424 with
OriginalStatusCode / OriginalMessage / LogStreamArn, ValidationError 400, ModelNotReadyException
429, InternalFailure 500, ServiceUnavailable 503, InternalDependencyException 530; AWS common
errors AccessDeniedException / UnrecognizedClientException 403 and ThrottlingException 400). The
model-error texts are the ones AWS users report verbatim:
- timeout, "Received server error (0) ... Your invocation timed out while waiting for a response
  from container primary": aws/amazon-sagemaker-examples#799, RamVegiraju/SageMaker-Deployment#3;
- no answer, "Received server error (0) ... could not get a response from the ... endpoint":
  aws/amazon-sagemaker-examples#2815;
- a Flask 500 page through the scikit-learn image: aws/amazon-sagemaker-examples#407;
- Object2Vec given a body without "instances", "Received client error (400) ... unable to evaluate
  payload provided": aws/amazon-sagemaker-examples#824.
The same rows are answered by the deployed document (its integration responses rendered with
our VTL engine) and by the local gateway; both must give exactly the expected status and body,
and no message may carry an ARN or an account id.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil

import pytest

from core import config as cfg
from core import openapi
from emulator.constants import INVOKED_HEADER
from emulator.gateway import Gateway
from emulator.gateway_state import StateHolder
from emulator.http import Answer
from emulator.vtl import MappingTemplate, RequestData
from tests.stacks import ROOT, example

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ratings-prod-invoke"
LOG_STREAM = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/ratings-prod"
SEE_LOGS = (f"See https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logEventViewer:"
            f"group=/aws/sagemaker/Endpoints/ratings-prod in account {ACCOUNT} for more information.")
REFUSAL = "items[0]: 'abc' is not a numeric id"


def model_error(original_status: int, original_message: str) -> tuple[int, dict]:
    side = "client" if 400 <= original_status < 500 else "server"
    return 424, {"ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL", "LogStreamArn": LOG_STREAM,
                 "Message": f"Received {side} error ({original_status}) from primary with message "
                            f"\"{original_message}\". {SEE_LOGS}",
                 "OriginalMessage": original_message, "OriginalStatusCode": original_status}


# (situation, SageMaker's status and body, the client's status and message)
TABLE = [
    ("model refuses: the template's error", *model_error(400, json.dumps({"message": REFUSAL})), 400, REFUSAL),
    ("model refuses: wrong content type", *model_error(415, json.dumps(
        {"message": "content type 'text/csv' is not supported; use application/json or application/jsonlines"})),
     400, "content type 'text/csv' is not supported; use application/json or application/jsonlines"),
    ("Object2Vec refuses a body without instances", *model_error(400, "unable to evaluate payload provided"),
     400, "unable to evaluate payload provided"),
    ("model refuses with quotes and a newline", *model_error(400, 'it\'s "odd"\nreally'), 400, 'it\'s "odd"\nreally'),
    ("model fails: Flask's 500 page", *model_error(500, "<title>500 Internal Server Error</title>\n"
                                                        "Internal Server Error"), 502,
     "the model failed to answer; retry later"),
    ("model times out", *model_error(0, "Your invocation timed out while waiting for a response from container "
                                        "primary. Review the latency metrics for each container in Amazon "
                                        "CloudWatch, resolve the issue, and try again."), 504,
     "the model did not answer in time; retry later"),
    ("model gives no response", *model_error(0, "Amazon SageMaker could not get a response from the ratings-prod "
                                                "endpoint. This can occur when CPU or memory utilization is high."),
     502, "the model failed to answer; retry later"),
    ("unknown target variant", 400, {"message": "The variant(s) \"[v9]\" is/are not valid for endpoint "
                                                f"\"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/ratings-prod\"."},
     500, "the service could not answer; retry later"),
    ("endpoint not found", 400, {"message": f"Endpoint ratings-prod of account {ACCOUNT} not found."},
     500, "the service could not answer; retry later"),
    ("access denied to the invoke role", 403, {
        "message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/ratings-prod-invoke/BackplaneAssumeRoleSession is "
                   "not authorized to perform: sagemaker:InvokeEndpoint on resource: "
                   f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/ratings-prod"}, 500,
     "the service could not answer; retry later"),
    ("unrecognized client", 403, {"message": "The security token included in the request is invalid."},
     500, "the service could not answer; retry later"),
    ("body too large", 413, {"message": "Request Entity Too Large"}, 500, "the service could not answer; retry later"),
    ("throttled, as a 400", 400, {"__type": "ThrottlingException", "message": "Rate exceeded"},
     503, "too many requests; retry later"),
    ("throttled, as a 429", 429, {"message": "Rate exceeded"}, 503, "too many requests; retry later"),
    ("model not ready", 429, {"message": "Model ratings-prod is not ready; try again later."},
     503, "the service could not answer; retry later"),
    ("internal failure", 500, {"message": "An internal failure occurred."}, 502,
     "the service could not answer; retry later"),
    ("service unavailable", 503, {"message": "The service is unavailable. Try your call again."}, 503,
     "the service could not answer; retry later"),
    ("internal dependency", 530, {"message": "Your request caused an exception with an internal dependency."},
     502, "the service could not answer; retry later"),
]
IDS = [row[0] for row in TABLE]
ARN_OR_ACCOUNT = re.compile(rf"arn:|{ACCOUNT}|ratings-prod")


def _deployed_answer(status: int, body: dict) -> tuple[int, dict]:
    """API Gateway's way: the first integration response whose pattern matches the whole status
    (else "default"), its template rendered, then the template's status override."""
    config = cfg.parse(example("prod"))
    document = openapi.build_document(config.api, openapi.Templates.load(),
                                      openapi.Integration("ratings-prod", ROLE_ARN, "eu-west-1"))
    responses = document["paths"][openapi.RESOURCE_PATH]["get"]["x-amazon-apigateway-integration"]["responses"]
    key = next((p for p in responses if p != "default" and re.fullmatch(p, str(status))), "default")
    chosen = responses[key]
    rendered = MappingTemplate(chosen["responseTemplates"][openapi.JSON], key).render(
        RequestData(body=json.dumps(body)))
    return rendered.status or int(chosen["statusCode"]), json.loads(rendered.body)


class ScriptedRuntime:
    def __init__(self, status: int, body: dict):
        self.result = Answer(status, {INVOKED_HEADER: "v1"}, json.dumps(body).encode())

    async def invoke(self, endpoint, body, content_type, accept, target, caller_timeout_s=None):
        return self.result


def _local_answer(stack_file, status: int, body: dict) -> tuple[int, dict]:
    gateway = Gateway(StateHolder(stack_file), ScriptedRuntime(status, body), lambda line: None)
    loop = asyncio.new_event_loop()
    try:
        answer = loop.run_until_complete(gateway.handle("GET", "/local/predicted-ratings/321", "items=101", {}))
    finally:
        loop.close()
    assert answer.headers["Content-Type"] == openapi.JSON
    return answer.status, json.loads(answer.body)


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory):
    target = tmp_path_factory.mktemp("stack") / "Pulumi.local.yaml"
    shutil.copy(ROOT / "Pulumi.local.yaml", target)
    return target


@pytest.mark.parametrize(("situation", "status", "body", "client_status", "message"), TABLE, ids=IDS)
def test_deployed_document_answers_each_situation(situation, status, body, client_status, message):
    assert _deployed_answer(status, body) == (client_status, {"message": message}), situation


@pytest.mark.parametrize(("situation", "status", "body", "client_status", "message"), TABLE, ids=IDS)
def test_local_gateway_answers_exactly_like_the_deployed_document(stack_file, situation, status, body,
                                                                  client_status, message):
    assert _local_answer(stack_file, status, body) == _deployed_answer(status, body), situation


@pytest.mark.parametrize(("situation", "status", "body", "client_status", "message"), TABLE, ids=IDS)
def test_no_client_message_carries_an_arn_or_internal_name(situation, status, body, client_status, message):
    _, answer = _deployed_answer(status, body)
    assert not ARN_OR_ACCOUNT.search(answer["message"]), f"{situation}: {answer['message']}"


def test_only_a_models_own_4xx_is_the_clients_fault():
    client_faults = {row[0] for row in TABLE if row[3] < 500}
    assert client_faults == {row[0] for row in TABLE if row[1] == 424 and 400 <= row[2]["OriginalStatusCode"] < 500}


def test_api_gateways_own_timeout_is_a_504():
    """API Gateway stops waiting for an integration after 29 s by default and answers with the
    INTEGRATION_TIMEOUT gateway response (AWS docs, "Gateway response types")."""
    document = openapi.build_document(cfg.parse(example("prod")).api, openapi.Templates.load(),
                                      openapi.Integration("ratings-prod", ROLE_ARN, "eu-west-1"))
    assert document["x-amazon-apigateway-gateway-responses"]["INTEGRATION_TIMEOUT"]["statusCode"] == "504"


# --- the local runtime produces the same SageMaker answers from real model-server replies ----------

LOCAL_ROWS = {  # variant -> (what its model server answers, the table row it must end up as)
    "refuses": ((400, json.dumps({"message": REFUSAL}), openapi.JSON), "model refuses: the template's error"),
    "crashes": ((500, "<title>500 Internal Server Error</title>\nInternal Server Error", "text/html"),
                "model fails: Flask's 500 page"),
}


async def _runtime_answers(unreachable_url: str) -> dict[str, Answer]:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from emulator.runtime import SageMakerRuntime, Variant

    async def answer(request: web.Request) -> web.Response:
        status, text, media = LOCAL_ROWS[request.match_info["variant"]][0]
        return web.Response(status=status, text=text, content_type=media)

    app = web.Application()
    app.router.add_post("/{variant}/invocations", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    variants = [Variant(name, f"{base}/{name}", 1.0) for name in LOCAL_ROWS] + [Variant("gone", unreachable_url, 0.0)]
    runtime = SageMakerRuntime("ratings-local", variants)
    try:
        return {name: await runtime.invoke("ratings-local", b"{}", openapi.JSON, openapi.JSON, name)
                for name in [*LOCAL_ROWS, "gone", "v9"]}
    finally:
        await runtime.close()
        await server.close()


@pytest.fixture(scope="module")
def runtime_answers():
    from tests.conftest import free_port

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(_runtime_answers(f"http://127.0.0.1:{free_port()}"), 30))
    finally:
        loop.close()


ROWS = {row[0]: row for row in TABLE}
LOCAL_CASES = [(variant, row) for variant, (_, row) in LOCAL_ROWS.items()] + [
    ("gone", "model gives no response"), ("v9", "unknown target variant")]
ERROR_CODES = {424: "ModelError", 400: "ValidationError"}


def _as_botocore_parses_it(invocation: Answer) -> tuple[str, dict]:
    """The error code and modelled fields a boto3 client reads from this answer: botocore's
    rest-json parser and its sagemaker-runtime model, the way its endpoint adds modelled fields."""
    import botocore.parsers
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    parser = botocore.parsers.create_parser(model.metadata["protocol"])
    response = {"status_code": invocation.status, "body": invocation.body,
                "headers": {name.lower(): value for name, value in invocation.headers.items()}}
    code = parser.parse(response, model.operation_model("InvokeEndpoint").output_shape)["Error"]["Code"]
    return code, parser.parse(response, model.shape_for_error_code(code))


@pytest.mark.parametrize(("variant", "row"), LOCAL_CASES, ids=[case[0] for case in LOCAL_CASES])
def test_local_runtime_gives_sagemakers_answer_and_the_same_client_answer(runtime_answers, stack_file, variant, row):
    invocation = runtime_answers[variant]
    _, status, body, client_status, message = ROWS[row]
    got = json.loads(invocation.body)
    assert invocation.status == status, got
    code, fields = _as_botocore_parses_it(invocation)
    assert code == ERROR_CODES[status]
    if status == 424:
        assert fields["OriginalStatusCode"] == body["OriginalStatusCode"]
        if variant in LOCAL_ROWS:  # SageMaker passes the container's body on as it is
            assert fields["OriginalMessage"] == LOCAL_ROWS[variant][0][1]
    client = _local_answer(stack_file, invocation.status, got)
    assert client[0] == client_status and client == _deployed_answer(invocation.status, got), row
    if client_status == 400:
        assert client[1] == {"message": message}
