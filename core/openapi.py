"""The ONE OpenAPI document of the ratings API, built by a pure function.

Pulumi deploys it as the RestApi ``body``, the local runtime serves it, and ``ratings openapi``
exports it for clients. Templates are embedded byte for byte from ``vtl/``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import arns, routing
from core.config import ApiSettings
from core.config_edge import AuthMode

VTL_DIR = Path(__file__).resolve().parent.parent / "vtl"
REQUEST_TEMPLATE = "request.vtl"
RESPONSE_TEMPLATE = "response.vtl"
ERROR_TEMPLATE = "error.vtl"
RESOURCE_PATH = "/predicted-ratings/{user_id}"
JSON = "application/json"
MODEL_VERSION_HEADER = "X-Model-Version"
VALIDATOR = "params-only"
API_KEY_SCHEME = "api_key"
SIGV4_SCHEME = "sigv4"
COGNITO_SCHEME = "cognito"
CACHE_KEYS = ("method.request.path.user_id", "method.request.querystring.items")
SCHEMES = {AuthMode.API_KEY: API_KEY_SCHEME, AuthMode.IAM: SIGV4_SCHEME, AuthMode.COGNITO: COGNITO_SCHEME}

# Integration responses are selected on SageMaker's HTTP status (botocore's sagemaker-runtime
# model: ValidationError 400, ModelError 424, ModelNotReadyException 429, InternalFailure 500,
# ServiceUnavailable 503, InternalDependencyException 530; AWS common errors: AccessDenied 403,
# ThrottlingException 400). Each gives a default status; vtl/error.vtl refines it from the body.
MODEL_ERROR_PATTERN = "424"  # 502 unless the model's own status was 4xx (then 400) or it timed out (504)
NOT_READY_PATTERN = "429"
REFUSED_PATTERN = r"4(?!24|29)\d{2}"  # our misconfiguration: bad variant, access denied, too large
UNAVAILABLE_PATTERN = "503"
FAILED_PATTERN = r"5(?!03)\d{2}"
ERROR_RESPONSES = {MODEL_ERROR_PATTERN: "502", NOT_READY_PATTERN: "503", REFUSED_PATTERN: "500",
                   UNAVAILABLE_PATTERN: "503", FAILED_PATTERN: "502"}

ERROR_BODY = '{"message": $context.error.messageString, "type": "$context.error.responseType"}'
GATEWAY_RESPONSES = {
    "BAD_REQUEST_PARAMETERS": "400",
    "BAD_REQUEST_BODY": "400",
    "MISSING_AUTHENTICATION_TOKEN": "404",
    "UNAUTHORIZED": "401",
    "ACCESS_DENIED": "403",
    "INVALID_API_KEY": "403",
    "INVALID_SIGNATURE": "403",
    "EXPIRED_TOKEN": "403",
    "REQUEST_TOO_LARGE": "413",
    "UNSUPPORTED_MEDIA_TYPE": "415",
    "THROTTLED": "429",
    "QUOTA_EXCEEDED": "429",
    "INTEGRATION_FAILURE": "502",
    "INTEGRATION_TIMEOUT": "504",
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
}


@dataclass(frozen=True)
class Templates:
    """The mapping templates, exactly as stored in ``vtl/`` (sticky canaries use the same request
    template, switched on by stage variables)."""

    request: str
    response: str
    error: str

    @classmethod
    def load(cls, vtl_dir: Path = VTL_DIR) -> Templates:
        def read(name: str) -> str:
            return (vtl_dir / name).read_bytes().decode("utf-8")

        return cls(read(REQUEST_TEMPLATE), read(RESPONSE_TEMPLATE), read(ERROR_TEMPLATE))


@dataclass(frozen=True)
class Integration:
    """Where the API sends requests: the endpoint, and the role API Gateway assumes for it."""

    endpoint_name: str
    credentials_role_arn: str
    region: str
    partition: str = "aws"


def build_document(api: ApiSettings, templates: Templates, integration: Integration) -> dict[str, Any]:
    """The API's whole definition: its settings, the templates, and where it sends requests."""
    document: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": f"{integration.endpoint_name}-api", "version": "1.0.0",
                 "description": "Predicted movie ratings for a user, served by a SageMaker endpoint."},
        "paths": {RESOURCE_PATH: {"get": _get_operation(api, templates, integration)}},
        "components": {"schemas": _schemas(api), "securitySchemes": _security_schemes(api)},
        "x-amazon-apigateway-request-validators": {
            VALIDATOR: {"validateRequestParameters": True, "validateRequestBody": False}},
        "x-amazon-apigateway-gateway-responses": _gateway_responses(),
    }
    if api.auth is AuthMode.API_KEY:
        document["x-amazon-apigateway-api-key-source"] = "HEADER"
    if not document["components"]["securitySchemes"]:
        del document["components"]["securitySchemes"]
    return document


def render(document: dict[str, Any]) -> str:
    """Canonical JSON text: the deployed body, the exported file and the redeployment hash agree."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _get_operation(api: ApiSettings, templates: Templates, integration: Integration) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": "getPredictedRatings",
        "summary": "Predicted ratings (1 to 5) of the given items for one user, in request order.",
        "parameters": _parameters(api),
        "responses": _method_responses(),
        "x-amazon-apigateway-request-validator": VALIDATOR,
        "x-amazon-apigateway-integration": _integration(templates, integration),
    }
    if api.cache is not None:
        # the stage cache keys an answer by the user and the items asked for (developer guide,
        # "Use method or integration parameters as cache keys")
        operation["x-amazon-apigateway-integration"] |= {"cacheKeyParameters": list(CACHE_KEYS),
                                                         "cacheNamespace": "predicted-ratings"}
    scheme = SCHEMES.get(api.auth)
    if scheme:
        operation["security"] = [{scheme: []}]
    return operation


def _parameters(api: ApiSettings) -> list[dict[str, Any]]:
    return [
        {"name": "user_id", "in": "path", "required": True, "description": "Numeric user id.",
         "schema": {"type": "string", "pattern": "^[0-9]+$"}},
        {"name": "items", "in": "query", "required": True,
         "description": f"Comma-separated numeric item ids, at most {api.max_items}.",
         "schema": {"type": "string"}},
    ]


def _json_response(description: str, schema: str, with_version: bool) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if with_version:
        response["headers"] = {MODEL_VERSION_HEADER: {
            "description": "The model version (production variant) that answered.",
            "schema": {"type": "string"}}}
    return response


def _method_responses() -> dict[str, Any]:
    return {
        "200": _json_response("One rating per requested item.", "Ratings", True),
        "400": _json_response("Invalid user id or items.", "Error", True),
        "500": _json_response("The service is misconfigured.", "Error", True),
        "502": _json_response("The model failed.", "Error", True),
        "503": _json_response("The model is busy or not ready; retry later.", "Error", True),
        "504": _json_response("The model did not answer in time; retry later.", "Error", True),
    }


def _schemas(api: ApiSettings) -> dict[str, Any]:
    rating = {"type": "number", "minimum": 1, "maximum": 5}
    return {
        "Ratings": {"type": "object", "required": ["ratings"], "additionalProperties": False,
                    "properties": {"ratings": {"type": "array", "items": rating,
                                               "maxItems": api.max_items}}},
        "Error": {"type": "object", "required": ["message"],
                  "properties": {"message": {"type": "string"}, "type": {"type": "string"}}},
    }


def _security_schemes(api: ApiSettings) -> dict[str, Any]:
    if api.auth is AuthMode.API_KEY:
        return {API_KEY_SCHEME: {"type": "apiKey", "name": "x-api-key", "in": "header"}}
    if api.auth is AuthMode.IAM:
        return {SIGV4_SCHEME: {"type": "apiKey", "name": "Authorization", "in": "header",
                               "x-amazon-apigateway-authtype": "awsSigv4"}}
    if api.auth is AuthMode.COGNITO and api.cognito is not None:
        # API Gateway developer guide, "x-amazon-apigateway-authorizer object": a Cognito user pool
        # authorizer reads the ID token from the Authorization header
        return {COGNITO_SCHEME: {"type": "apiKey", "name": "Authorization", "in": "header",
                                 "x-amazon-apigateway-authtype": "cognito_user_pools",
                                 "x-amazon-apigateway-authorizer": {
                                     "type": "cognito_user_pools", "providerARNs": [api.cognito.user_pool_arn]}}}
    return {}


def _integration(templates: Templates, integration: Integration) -> dict[str, Any]:
    version_header = {f"method.response.header.{MODEL_VERSION_HEADER}":
                      f"integration.response.header.{routing.INVOKED_VARIANT_HEADER}"}

    def response(status: str, template: str) -> dict[str, Any]:
        return {"statusCode": status, "responseParameters": dict(version_header),
                "responseTemplates": {JSON: template}}

    return {
        "type": "aws",
        "httpMethod": "POST",
        "uri": arns.sagemaker_runtime_integration(integration.partition, integration.region,
                                                  integration.endpoint_name),
        "credentials": integration.credentials_role_arn,
        "passthroughBehavior": "never",
        "requestParameters": {
            f"integration.request.header.{routing.TARGET_VARIANT_HEADER}":
                f"stageVariables.{routing.VARIANT_STAGE_VARIABLE}",
            "integration.request.header.Content-Type": f"'{JSON}'",
            "integration.request.header.Accept": f"'{JSON}'",
        },
        "requestTemplates": {JSON: templates.request},
        "responses": {"default": response("200", templates.response),
                      **{pattern: response(status, templates.error) for pattern, status in ERROR_RESPONSES.items()}},
    }


def _gateway_responses() -> dict[str, Any]:
    responses = {}
    for kind, status in GATEWAY_RESPONSES.items():
        response: dict[str, Any] = {"responseTemplates": {JSON: ERROR_BODY}}
        if status:
            response["statusCode"] = status
        responses[kind] = response
    return responses
