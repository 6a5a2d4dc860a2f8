"""Shared helpers for rendering the project's templates in tests."""

from __future__ import annotations

import functools
import json

from emulator.vtl import MappingTemplate, RequestData
from tests.stacks import ROOT

STAGE = {"variant": "v1", "maxItems": "100"}


@functools.cache
def template(name: str) -> MappingTemplate:
    return MappingTemplate.from_file(ROOT / "vtl" / name)


def render_request(user_id: str, items: str, stage: dict[str, str] | None = None):
    request = RequestData(path={"user_id": user_id}, querystring={"items": items},
                          stage_variables=STAGE if stage is None else stage)
    return template("request.vtl").render(request)


def request_body(user_id: str, items: str, stage: dict[str, str] | None = None) -> dict:
    return json.loads(render_request(user_id, items, stage).body)


def java_hash(text: str) -> int:
    """String.hashCode, written out independently of the engine's implementation."""
    value = 0
    data = text.encode("utf-16-be")
    for index in range(0, len(data), 2):
        value = (value * 31 + (data[index] << 8 | data[index + 1])) % 2**32
    return value - 2**32 if value >= 2**31 else value
