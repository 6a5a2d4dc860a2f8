"""SageMaker's own naming rules, read from botocore's service model.

The patterns and lengths come from the model that ships with boto3, so a name this project
accepts is one SageMaker accepts, and new instance types appear when boto3 is upgraded.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import botocore.session


@dataclass(frozen=True)
class NameRule:
    """A string shape of the SageMaker API: regex pattern and maximum length."""

    shape: str
    pattern: re.Pattern[str]
    max_length: int

    def accepts(self, value: str) -> bool:
        return len(value) <= self.max_length and bool(self.pattern.fullmatch(value))

    @property
    def describe(self) -> str:
        return f"pattern {self.pattern.pattern}, at most {self.max_length} characters"


@functools.cache
def _service_model():
    return botocore.session.get_session().get_service_model("sagemaker")


@functools.cache
def rule(shape: str) -> NameRule:
    """The NameRule of a string shape such as ``EndpointName`` or ``VariantName``."""
    meta = _service_model().shape_for(shape).metadata
    return NameRule(shape, re.compile(meta["pattern"]), int(meta["max"]))


@functools.cache
def instance_types() -> frozenset[str]:
    """Instance types a production variant may use (``ProductionVariantInstanceType``)."""
    return frozenset(_service_model().shape_for("ProductionVariantInstanceType").enum)


@functools.cache
def max_environment_entries() -> int:
    return int(_service_model().shape_for("EnvironmentMap").metadata["max"])
