"""The stage's access-log format and the metric filters that count its lines per version.

No CloudWatch Logs filter evaluator runs here (moto stores metric filters but does not evaluate
them), so these check what the filters rely on: every field a pattern or a dimension names is in
the format, with the type the pattern compares it as ("Filter pattern syntax for metric filters":
numeric comparisons on numbers, equality on strings)."""

from __future__ import annotations

import json
import re

import pytest

from core import access_log
from core.routing import Canary, CanaryMode, Routing

ROUTINGS = [Routing("v1"), Routing("v1", Canary("v2", 10)), Routing("v1", Canary("v2", 10, CanaryMode.STICKY))]


def _as_written(routing: Routing, status: int = 504) -> dict:
    """One line as API Gateway would write it: every $context variable replaced by a value."""
    line = access_log.format_of(routing).replace(access_log.NUMERIC, str(status))
    return json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", line))


@pytest.mark.parametrize("routing", ROUTINGS)
def test_a_written_line_is_json_with_a_numeric_status(routing):
    line = _as_written(routing)
    assert line["status"] == 504 and isinstance(line["isCanary"], str)
    assert (line["liveVersion"], line["canaryVersion"]) == (routing.live, routing.canary.version if routing.canary
                                                           else "")


def test_every_field_a_filter_reads_is_written():
    written = set(_as_written(ROUTINGS[1]))
    for counted in access_log.answer_filters():
        named = set(re.findall(r"\$\.(\w+)", counted.pattern + " ".join(counted.dimensions.values())))
        assert named <= written, (counted.name, named - written)


def test_each_side_counts_its_own_version_and_no_sticky_line():
    filters = {counted.name: counted for counted in access_log.answer_filters()}
    assert len(filters) == 10  # answers, 4xx, 5xx, timeouts and cache hits, on each side
    assert filters["stage-Answers"].dimensions["Version"] == "$.liveVersion"
    assert filters["canary-Answers"].dimensions["Version"] == "$.canaryVersion"
    assert '$.isCanary != "true"' in filters["stage-Answers"].pattern  # absent without a canary
    assert all('$.canaryMode != "sticky"' in counted.pattern for counted in filters.values())
    assert "$.status >= 500" in filters["stage-ServerErrors"].pattern
    assert '$.integrationLatencyMs = "-"' in filters["stage-CachedAnswers"].pattern, "a 200 the model never gave"
