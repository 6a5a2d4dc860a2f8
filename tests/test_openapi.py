"""The OpenAPI document: valid OpenAPI 3, and the API Gateway extensions the API relies on."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

from core import config as cfg
from core import openapi
from tests.stacks import ROOT, example, with_change

INTEGRATION = openapi.Integration("ratings-prod", "arn:aws:iam::123456789012:role/invoke", "eu-west-1")


def _build(values) -> dict:
    config = cfg.parse(values)
    return openapi.build_document(config.api, openapi.Templates.load(), INTEGRATION)


@pytest.mark.parametrize("auth", ["iam", "api_key", "none"])
def test_document_is_valid_openapi_for_every_auth_mode(auth):
    values = with_change(example("prod"), "ratings:api.auth", auth)
    if auth != "api_key":
        values = with_change(values, "ratings:api.quota", None)
    validate(_build(values))


def test_both_parameters_are_required_and_validated():
    document = _build(example("prod"))
    operation = document["paths"]["/predicted-ratings/{user_id}"]["get"]
    assert {(p["name"], p["in"], p["required"]) for p in operation["parameters"]} == {
        ("user_id", "path", True), ("items", "query", True)}
    validator = document["x-amazon-apigateway-request-validators"][operation["x-amazon-apigateway-request-validator"]]
    assert validator == {"validateRequestParameters": True, "validateRequestBody": False}


def test_error_statuses_map_to_client_facing_codes():
    responses = _build(example("prod"))["paths"][openapi.RESOURCE_PATH]["get"]["x-amazon-apigateway-integration"][
        "responses"]
    assert {pattern: r["statusCode"] for pattern, r in responses.items()} == {
        "default": "200", "424": "502", "429": "503", r"4(?!24|29)\d{2}": "500", "503": "503", r"5(?!03)\d{2}": "502"}
    for response in responses.values():
        assert response["responseParameters"] == {
            "method.response.header.X-Model-Version": "integration.response.header.X-Amzn-Invoked-Production-Variant"}


def test_every_status_the_error_template_can_set_is_a_method_response():
    operation = _build(example("prod"))["paths"][openapi.RESOURCE_PATH]["get"]
    error_template = openapi.Templates.load().error
    overrides = {int(s) for s in re.findall(r"responseOverride\.status = (\d+)", error_template)}
    defaults = {int(s) for s in openapi.ERROR_RESPONSES.values()}
    assert overrides and overrides | defaults <= {int(s) for s in operation["responses"]}


# SageMaker runtime statuses (botocore sagemaker-runtime model and AWS common errors) -> the one pattern
@pytest.mark.parametrize(("status", "pattern"), [
    ("400", openapi.REFUSED_PATTERN), ("403", openapi.REFUSED_PATTERN), ("413", openapi.REFUSED_PATTERN),
    ("424", openapi.MODEL_ERROR_PATTERN), ("429", openapi.NOT_READY_PATTERN), ("500", openapi.FAILED_PATTERN),
    ("503", openapi.UNAVAILABLE_PATTERN), ("530", openapi.FAILED_PATTERN)])
def test_selection_patterns_do_not_overlap(status, pattern):
    assert [p for p in openapi.ERROR_RESPONSES if re.fullmatch(p, status)] == [pattern]


def test_gateway_responses_answer_json_with_a_message():
    responses = _build(example("prod"))["x-amazon-apigateway-gateway-responses"]
    assert {"BAD_REQUEST_PARAMETERS", "THROTTLED", "UNAUTHORIZED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    assert responses["BAD_REQUEST_PARAMETERS"]["statusCode"] == "400"
    assert responses["THROTTLED"]["statusCode"] == "429"
    body = responses["DEFAULT_4XX"]["responseTemplates"]["application/json"]
    filled = body.replace("$context.error.messageString", '"Missing required request parameters: [items]"')
    assert json.loads(filled.replace("$context.error.responseType", "BAD_REQUEST_PARAMETERS"))["message"]


def test_render_is_canonical_and_digest_tracks_content():
    document = _build(example("prod"))
    text = openapi.render(document)
    assert json.loads(text) == document
    assert openapi.digest(text) == openapi.digest(openapi.render(json.loads(text)))
    changed = _build(with_change(example("prod"), "ratings:api.maxItems", 50))
    assert openapi.digest(openapi.render(changed)) != openapi.digest(text)


def test_templates_are_read_byte_for_byte(tmp_path):
    for name in ("request.vtl", "response.vtl", "error.vtl"):
        (tmp_path / name).write_bytes((ROOT / "vtl" / name).read_bytes() + b"## local edit\r\n")
    templates = openapi.Templates.load(tmp_path)
    assert templates.request.endswith("## local edit\r\n")
