"""IAM documents name exact ARNs; wildcards only where IAM has no resource ARN."""

from __future__ import annotations

import pytest

from core import arns, policies

ACCOUNT = arns.Account(partition="aws", region="eu-west-1", account_id="123456789012")


def test_execution_policy_scopes_every_statement():
    document = policies.sagemaker_execution(
        ACCOUNT, "ratings-prod",
        ["s3://models/a/v1/model.tar.gz", "s3://models/a/v1/model.tar.gz", "s3://other/v2/model.tar.gz"],
        ["438346466558.dkr.ecr.eu-west-1.amazonaws.com/object2vec:1"])
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["ReadModelArchives"]["Resource"] == [
        "arn:aws:s3:::models/a/v1/model.tar.gz", "arn:aws:s3:::other/v2/model.tar.gz"]
    assert by_sid["PullModelImages"]["Resource"] == ["arn:aws:ecr:eu-west-1:438346466558:repository/object2vec"]
    assert by_sid["CreateEndpointLogGroup"]["Resource"] == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/ratings-prod"]
    assert by_sid["PublishEndpointMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}
    wildcard = [s for s in document["Statement"] if s["Resource"] == ["*"]]
    assert all(set(s["Action"]) <= policies.ACTIONS_WITHOUT_RESOURCES for s in wildcard)


def test_log_actions_name_the_resource_type_they_authorize_against():
    """Service Authorization Reference (CloudWatch Logs): CreateLogStream and DescribeLogStreams
    take a log-group ARN, PutLogEvents a log-stream ARN."""
    document = policies.sagemaker_execution(ACCOUNT, "ratings-prod", ["s3://models/v1/model.tar.gz"], [])
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/ratings-prod"
    assert by_sid["CreateEndpointLogStreams"]["Action"] == ["logs:CreateLogStream", "logs:DescribeLogStreams"]
    assert by_sid["CreateEndpointLogStreams"]["Resource"] == [group, f"{group}:*"]
    assert by_sid["WriteEndpointLogs"] == {"Sid": "WriteEndpointLogs", "Effect": "Allow",
                                           "Action": ["logs:PutLogEvents"], "Resource": [f"{group}:log-stream:*"]}


def test_api_gateway_trust_has_no_source_account_condition():
    """API Gateway does not set aws:SourceAccount when it assumes integration credentials
    (aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws PR #479:
    "API Gateway does not have permission to assume the provided role" on every request)."""
    trust = policies.assume_role("apigateway.amazonaws.com")["Statement"][0]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                     "Action": "sts:AssumeRole"}


def test_trust_policy_is_limited_to_the_account():
    trust = policies.assume_role("sagemaker.amazonaws.com", ACCOUNT)["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@pytest.mark.parametrize("bad", ["https://bucket/model.tar.gz", "s3://bucket/", "bucket/model.tar.gz"])
def test_s3_object_rejects_non_archive_urls(bad):
    with pytest.raises(ValueError):
        arns.s3_object("aws", bad)
