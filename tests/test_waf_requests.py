"""The web ACL and its association as the provider would send them to AWS WAF, checked with
botocore's own parameter validation against the wafv2 service model (CreateWebACL,
AssociateWebACL): names, types, required members and ranges as AWS defines them.

The provider's expand functions (internal/service/wafv2/flex.go) map each schema block onto the
API member of the same name: Pulumi's camelCase is the API's PascalCase, with "CloudWatch"
spelled as the API does; empty action blocks ({"allow": {}}) are the API's empty structures.
"""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tests.pulumi_mocks import run_program
from tests.stacks import example

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
SPELLED = {"cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled"}


def _api_member(key: str) -> str:
    return SPELLED.get(key, key[:1].upper() + key[1:])


def _as_request(value):
    if isinstance(value, dict):
        return {_api_member(key): _as_request(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_request(item) for item in value]
    if isinstance(value, float) and value.is_integer():  # Pulumi's wire numbers; the schema's TypeInt
        return int(value)
    return value


def _problems(operation: str, request: dict) -> str:
    shape = botocore.session.get_session().get_service_model("wafv2").operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    return report.generate_report() if report.has_errors() else ""


@pytest.fixture(scope="module")
def prod():
    return run_program(example("prod"), stack="prod")


def test_the_web_acl_is_a_valid_create_web_acl_request(prod):
    acl = prod.one(WEB_ACL)
    fields = {key: value for key, value in acl.inputs.items() if key in ("defaultAction", "description", "rules",
                                                                        "scope", "visibilityConfig")}
    request = {**_as_request(fields), "Name": acl.outputs["name"]}
    assert _problems("CreateWebACL", request) == ""
    assert request["Rules"][2]["Statement"]["RateBasedStatement"]["Limit"] == 2000


def test_the_association_is_a_valid_associate_web_acl_request(prod):
    association = prod.one(WEB_ACL_ASSOCIATION).inputs
    request = {"WebACLArn": association["webAclArn"], "ResourceArn": association["resourceArn"]}
    assert _problems("AssociateWebACL", request) == ""


def test_the_check_catches_what_aws_would_refuse(prod):
    """The same check fails a request AWS refuses: a rate limit under WAF's minimum of 10."""
    acl = prod.one(WEB_ACL)
    request = _as_request({key: acl.inputs[key] for key in ("defaultAction", "rules", "scope", "visibilityConfig")})
    request["Name"] = acl.outputs["name"]
    request["Rules"][2]["Statement"]["RateBasedStatement"]["Limit"] = 5
    assert "Limit" in _problems("CreateWebACL", request)
