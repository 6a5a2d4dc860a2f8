"""The API's edge resources as the provider would send them to AWS, checked with botocore's own
parameter validation against each service model: names, types, required members, enums and ranges
as AWS defines them. The stack is the prod example with every edge feature (tests/stacks.py).

- AWS WAF (CreateWebACL, AssociateWebACL): the provider's expand functions
  (internal/service/wafv2/flex.go) map each schema block onto the API member of the same name:
  Pulumi's camelCase is the API's PascalCase, with "CloudWatch" spelled as the API does; empty
  action blocks ({"allow": {}}) are the API's empty structures.
- API Gateway (CreateDomainName, CreateBasePathMapping, CreateStage): the provider's Create
  functions (apigateway/domain_name.go, base_path_mapping.go, stage.go) copy the arguments into
  the camelCase members; a one-element endpoint configuration is the API's list of types.
- Route 53 (ChangeResourceRecordSets): record.go expandResourceRecordSet, an alias record.
"""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from core import config_edge
from tests.pulumi_mocks import run_program
from tests.stacks import EDGE, edge_example

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


def _problems(operation: str, request: dict, service: str = "wafv2") -> str:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    return report.generate_report() if report.has_errors() else ""


@pytest.fixture(scope="module")
def prod():
    return run_program(edge_example(), stack=EDGE)


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


def test_the_domain_and_its_mapping_are_valid_api_gateway_requests(prod):
    domain = prod.one("aws:apigateway/domainName:DomainName").inputs
    create = {"domainName": domain["domainName"], "regionalCertificateArn": domain["regionalCertificateArn"],
              "endpointConfiguration": {"types": [domain["endpointConfiguration"]["types"]]},
              "securityPolicy": domain["securityPolicy"]}
    assert _problems("CreateDomainName", create, "apigateway") == ""
    mapping = prod.one("aws:apigateway/basePathMapping:BasePathMapping").inputs
    request = {"domainName": mapping["domainName"], "restApiId": mapping["restApi"], "stage": mapping["stageName"]}
    assert _problems("CreateBasePathMapping", request, "apigateway") == ""


def test_the_alias_record_is_a_valid_route53_change(prod):
    record = prod.one("aws:route53/record:Record").inputs
    alias = record["aliases"][0]
    change = {"Action": "CREATE", "ResourceRecordSet": {
        "Name": record["name"], "Type": record["type"],
        "AliasTarget": {"HostedZoneId": alias["zoneId"], "DNSName": alias["name"],
                        "EvaluateTargetHealth": alias["evaluateTargetHealth"]}}}
    request = {"HostedZoneId": record["zoneId"], "ChangeBatch": {"Changes": [change]}}
    assert _problems("ChangeResourceRecordSets", request, "route53") == ""


def test_the_cached_stage_is_a_valid_create_stage_request(prod):
    """CacheClusterSize is an enum in the API model: every size the config accepts is one of it."""
    stage = prod.one("aws:apigateway/stage:Stage").inputs
    request = {"restApiId": stage["restApi"], "stageName": stage["stageName"], "deploymentId": stage["deployment"],
               "cacheClusterEnabled": stage["cacheClusterEnabled"], "cacheClusterSize": stage["cacheClusterSize"],
               "variables": stage["variables"], "tracingEnabled": stage["xrayTracingEnabled"]}
    assert _problems("CreateStage", request, "apigateway") == ""
    model = botocore.session.get_session().get_service_model("apigateway")
    assert set(model.shape_for("CacheClusterSize").enum) == set(config_edge.CACHE_SIZES_GB)
