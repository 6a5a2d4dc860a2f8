"""AWS's own limits on the names, lists and payloads this project sends, as data.

The values come from botocore's service models (what boto3 validates requests against) and are
kept in ``aws_limits.json`` beside this module, so the domain needs no AWS SDK: a name the stack
config accepts is one SageMaker or IAM accepts. tests/test_aws_limits.py compares the file with
the installed botocore and names the command that refreshes it after a boto3 upgrade.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("aws_limits.json")


@dataclass(frozen=True)
class NameRule:
    """A string shape of an AWS API: its regex pattern and maximum length."""

    shape: str
    pattern: re.Pattern[str]
    max_length: int

    def accepts(self, value: str) -> bool:
        return len(value) <= self.max_length and bool(self.pattern.fullmatch(value))

    @property
    def describe(self) -> str:
        return f"pattern {self.pattern.pattern}, at most {self.max_length} characters"


@functools.cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


@functools.cache
def rule(shape: str, service: str = "sagemaker") -> NameRule:
    """The NameRule of a string shape such as ``EndpointName`` or ``VariantName``."""
    spec = _data()["strings"][f"{service}.{shape}"]
    return NameRule(shape, re.compile(spec["pattern"]), int(spec["max"]))


@functools.cache
def instance_types() -> frozenset[str]:
    """Instance types a production variant may use (``ProductionVariantInstanceType``)."""
    return frozenset(_data()["enums"]["sagemaker.ProductionVariantInstanceType"])


def max_environment_entries() -> int:
    return int(_data()["lists"]["sagemaker.EnvironmentMap"])


def max_production_variants() -> int:
    """Variants one endpoint configuration may hold (``ProductionVariantList``)."""
    return int(_data()["lists"]["sagemaker.ProductionVariantList"])


def max_role_name() -> int:
    return rule("roleNameType", "iam").max_length


def invoke_payload_bytes() -> int:
    """InvokeEndpoint's request (and response) body limit, 6 MB."""
    return int(_data()["payloads"]["sagemaker-runtime.InvokeEndpoint"])
