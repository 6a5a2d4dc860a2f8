"""The plain-path shortcut of ``$input.path`` / ``$input.json`` gives exactly what jsonpath_ng
(the full JSONPath engine the templates otherwise use) gives, or steps aside."""

from __future__ import annotations

import pytest
from jsonpath_ng.ext import parse

from emulator.vtl import simple_path

ANSWER = {"predictions": [{"scores": [3.5]}, {"scores": [4.0, 1.0]}, {"scores": []}, {"other": 1}]}
DOCUMENTS = [
    ANSWER,
    {"a": {"b": [1, {"c": None}, [2, 3]]}, "x-y": 1, "": 2, "list": [[1, 2], [3]]},
    [1, {"a": 2}],
    "text", 7, None, {},
]
EXPRESSIONS = [
    "$", " $ ", "$.predictions", "$.predictions[*].scores[0]", "$.predictions[*].scores[*]",
    "$.predictions[1].scores[1]", "$.predictions[9]", "$['predictions'][0]", '$["predictions"][0]["scores"]',
    "$.a.b[1].c", "$.a.b[*]", "$.a.b[2][1]", "$.missing.deeper", "$.list[*][0]", "$[0]", "$[*].a", "$.a[0]",
]
NEEDS_THE_ENGINE = ["$..scores", "$.predictions[0:2]", "$.predictions[?(@.scores)]", "$.x-y", "$.*", "$[-1]",
                    "$.predictions[0,1]", "predictions"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: type(d).__name__)
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_agrees_with_jsonpath_ng_or_steps_aside(expression, document):
    steps = simple_path.compile_path(expression)
    assert steps is not None, f"{expression!r} is a plain path"
    found = simple_path.find(steps, document)
    if found is not None:
        assert found == [match.value for match in parse(expression).find(document)]


@pytest.mark.parametrize("expression", NEEDS_THE_ENGINE)
def test_anything_beyond_plain_steps_goes_to_the_engine(expression):
    assert simple_path.compile_path(expression) is None


def test_the_response_templates_path_is_taken_directly():
    steps = simple_path.compile_path("$.predictions[*].scores[0]")
    assert simple_path.find(steps, ANSWER) == [3.5, 4.0]
