"""AWS's limits as the domain keeps them (core/aws_limits.json) against the botocore that boto3
validates requests with: the file is a copy of botocore's service models, never a guess."""

from __future__ import annotations

import json

from core import aws_limits
from tests import aws_limits_source

REFRESH = "core/aws_limits.json differs from the installed botocore; run `python -m tests.aws_limits_source`"


def test_the_limits_file_is_botocores_own():
    kept = json.loads(aws_limits.DATA_FILE.read_text(encoding="utf-8"))
    current = aws_limits_source.limits()
    assert {k: v for k, v in kept.items() if k != "source"} == \
           {k: v for k, v in current.items() if k != "source"}, REFRESH


def test_the_rules_read_from_it():
    assert aws_limits.rule("VariantName").accepts("v1") and not aws_limits.rule("VariantName").accepts("v_1")
    assert aws_limits.rule("EndpointName").max_length == 63
    assert "ml.m5.large" in aws_limits.instance_types()
    assert (aws_limits.max_production_variants(), aws_limits.max_environment_entries()) == (10, 100)
    assert aws_limits.invoke_payload_bytes() == 6_291_456
    assert aws_limits.max_role_name() == 64
