"""Real boto3 clients answered by a behaviour model instead of AWS.

botocore emits ``before-call.<service>.<operation>`` after it has validated and serialised the
request; a handler that returns ``(http_response, parsed)`` stands in for the network (botocore's
own Stubber works this way). Here the handler is the model: the parameters as the caller gave
them (captured at ``before-parameter-build``) go in, a response comes out, checked against the
operation's output shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

Handler = Callable[[dict[str, Any]], dict[str, Any]]
PARAMS = "behaviour_model_params"
# every call any modelled client was asked, as (service, operation, parameters): the permissions
# test checks each one against the policy `ratings iam-policy` prints
OBSERVED: list[tuple[str, str, dict[str, Any]]] = []


class AwsError(Exception):
    """A modeled AWS error: its code, message and HTTP status, as the service returns them."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def client(service: str, handlers: Mapping[str, Handler], region: str = "eu-west-1") -> Any:
    """A boto3 client of ``service`` whose operations ``handlers`` answer (by operation name)."""
    made = boto3.client(service, region_name=region, aws_access_key_id="model", aws_secret_access_key="model")
    service_id = made.meta.service_model.service_id.hyphenize()

    def capture(params: dict[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        context[PARAMS] = dict(params)
        OBSERVED.append((service, model.name, dict(params)))

    def answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        handler = handlers.get(model.name)
        if handler is None:
            raise NotImplementedError(f"the behaviour model does not answer {service} {model.name}")
        try:
            body = handler(context[PARAMS])
        except AwsError as error:
            return AWSResponse(None, error.status, {}, None), {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": {"HTTPStatusCode": error.status}}
        if model.output_shape is not None:
            validate_parameters(body, model.output_shape)
        return AWSResponse(None, 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

    made.meta.events.register(f"before-parameter-build.{service_id}", capture)
    made.meta.events.register(f"before-call.{service_id}", answer)
    return made
