"""The VTL engine agrees with API Gateway behaviour recorded on AWS by third parties.

Each file in tests/vtl_corpus/ holds cases transcribed as data from a public recording: the
template, what the template saw, and the output AWS gave, with the repository, path and test (or
documentation page) it comes from. A case may have a ``before`` step: a first template whose
overrides (``passes: overrides``) or output body (``passes: body``, an echo integration) reach the
template under test, as on AWS between an integration request and its response.

Every case must agree; the few where the engine deliberately differs are listed in
DELIBERATE_DIFFERENCES with the evidence, and the test checks they still differ as described.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from emulator.vtl import MappingTemplate, RequestData, TemplateError

CORPUS = Path(__file__).parent / "vtl_corpus"

# case id -> why the engine gives a different answer on purpose (none today).
DELIBERATE_DIFFERENCES: dict[str, str] = {}
CASES_PER_SOURCE = {
    "localstack/airspeed": 205,  # tests/test_templating.snapshot.json, every AWS recording
    "localstack/localstack": 43,  # tests/aws/services/apigateway/*.snapshot.json
    "awsdocs/amazon-api-gateway-developer-guide": 5,
}


def _request(data: dict, body: str | None = None) -> RequestData:
    return RequestData(
        path=data.get("path", {}), querystring=data.get("querystring", {}),
        headers=data.get("headers", {}),
        body=data.get("body", "") if body is None else body,
        stage_variables=data.get("stage_variables", {}), context=data.get("context", {}),
    )


def _load_cases() -> list:
    cases = []
    for file in sorted(CORPUS.glob("*.json")):
        for case in json.loads(file.read_text(encoding="utf-8"))["cases"]:
            cases.append(pytest.param(case, id=case["id"]))
    return cases


CASES = _load_cases()


def render_case(case: dict):
    """Render a case as API Gateway ran it: the ``before`` step first, when there is one."""
    request = case.get("request", {})
    carried, body = None, None
    before = case.get("before")
    if before:
        first = MappingTemplate(before["template"], "before").render(_request(before.get("request", {})))
        if before["passes"] == "overrides":
            carried = first
        else:
            body = first.body
    return MappingTemplate(case["template"], case["id"]).render(_request(request, body), after=carried)


def _normalize_whitespace(text: str) -> str:
    """What the airspeed-ext recorder did to outputs it compared ignoring whitespace."""
    return re.sub(r"\s+", " ", text.replace("\n", " ").strip())


def _differs(what: str, got: object, recorded: object) -> list[str]:
    return [] if got == recorded else [f"{what} {got!r} != recorded {recorded!r}"]


def _json_body(rendered, recorded) -> list[str]:
    try:
        return _differs("JSON", json.loads(rendered.body), recorded)
    except json.JSONDecodeError:
        return [f"body is not JSON: {rendered.body!r}"]


def _json_field(rendered, recorded) -> list[str]:
    """The recording holds a JSON document carried as a string field of the rendered JSON."""
    field = recorded["field"]
    try:
        got = json.loads(json.loads(rendered.body)[field])
    except (ValueError, KeyError, TypeError) as error:
        return [f"no JSON document in field {field!r} of {rendered.body!r}: {error}"]
    return _differs(field, got, recorded["json"])


# expectation kind -> how to compare the rendering with what was recorded
CHECKS = {
    "body": lambda rendered, recorded: _differs("body", rendered.body, recorded),
    "body_whitespace_normalized": lambda rendered, recorded: _differs(
        "body", _normalize_whitespace(rendered.body), recorded),
    "json": _json_body,
    "json_field": _json_field,
    "status": lambda rendered, recorded: _differs("status", rendered.status, recorded),
    "request_headers": lambda rendered, recorded: _differs("request headers", rendered.request_headers, recorded),
    "response_headers": lambda rendered, recorded: _differs("response headers", rendered.response_headers,
                                                            recorded),
}


def mismatches(case: dict) -> list[str]:
    """How the engine's output differs from the recording (empty when it agrees)."""
    try:
        rendered = render_case(case)
    except TemplateError as error:
        return [f"engine failed: {error}"]
    unknown = set(case["expect"]) - set(CHECKS)
    assert not unknown, f"{case['id']}: unknown expectation {unknown}"
    return [problem for kind, recorded in case["expect"].items() for problem in CHECKS[kind](rendered, recorded)]


def test_corpus_keeps_every_recorded_case_with_its_citation():
    counts = Counter(param.values[0]["source"]["repo"] for param in CASES)
    assert counts == CASES_PER_SOURCE, "cases were added or lost: update CASES_PER_SOURCE knowingly"
    for param in CASES:
        source = param.values[0]["source"]
        assert source.get("path") and (source.get("test") or source.get("section")), \
            f"{param.id} does not say where it was recorded"


@pytest.mark.parametrize("case", CASES)
def test_engine_agrees_with_recording(case):
    problems = mismatches(case)
    reason = DELIBERATE_DIFFERENCES.get(case["id"])
    if reason:
        assert problems, f"{case['id']} now agrees with AWS; drop it from DELIBERATE_DIFFERENCES"
        return
    assert not problems, f"{case['id']} ({case['source']}): " + "; ".join(problems)
