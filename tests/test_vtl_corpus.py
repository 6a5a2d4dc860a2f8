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
from pathlib import Path

import pytest

from emulator.vtl import MappingTemplate, RequestData, TemplateError

CORPUS = Path(__file__).parent / "vtl_corpus"

# case id -> why the engine gives a different answer on purpose.
DELIBERATE_DIFFERENCES: dict[str, str] = {}


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


def mismatches(case: dict) -> list[str]:
    """How the engine's output differs from the recording (empty when it agrees)."""
    expect = case["expect"]
    try:
        rendered = render_case(case)
    except TemplateError as error:
        return [f"engine failed: {error}"] if "error" not in expect else []
    problems = []
    if "error" in expect:
        problems.append(f"AWS failed the request ({expect['error']}) but the engine rendered {rendered.body!r}")
    if "body" in expect and rendered.body != expect["body"]:
        problems.append(f"body {rendered.body!r} != recorded {expect['body']!r}")
    if "body_whitespace_normalized" in expect:
        got = _normalize_whitespace(rendered.body)
        if got != expect["body_whitespace_normalized"]:
            problems.append(f"body {got!r} != recorded {expect['body_whitespace_normalized']!r}")
    if "json" in expect:
        try:
            got_json = json.loads(rendered.body)
        except json.JSONDecodeError:
            problems.append(f"body is not JSON: {rendered.body!r}")
        else:
            if got_json != expect["json"]:
                problems.append(f"JSON {got_json!r} != recorded {expect['json']!r}")
    if "json_field" in expect:
        carried = expect["json_field"]
        problems += _json_field_mismatches(rendered.body, carried["field"], carried["json"])
    if "status" in expect and rendered.status != expect["status"]:
        problems.append(f"status {rendered.status} != recorded {expect['status']}")
    for kind in ("request_headers", "request_querystring", "response_headers"):
        if kind in expect and getattr(rendered, kind) != expect[kind]:
            problems.append(f"{kind} {getattr(rendered, kind)} != recorded {expect[kind]}")
    return problems


def _json_field_mismatches(body: str, field: str, document: object) -> list[str]:
    """The recording holds a JSON document carried as a string field of the rendered JSON."""
    try:
        got = json.loads(json.loads(body)[field])
    except (ValueError, KeyError, TypeError) as error:
        return [f"no JSON document in field {field!r} of {body!r}: {error}"]
    return [] if got == document else [f"{field} {got!r} != recorded {document!r}"]


def test_corpus_is_broad_and_cited():
    by_source = {}
    for param in CASES:
        case = param.values[0]
        source = case["source"]
        assert source.get("repo") or source.get("url"), f"{case['id']} names no source"
        by_source[source.get("repo") or "docs.aws.amazon.com"] = by_source.get(source.get("repo") or "docs.aws.amazon.com", 0) + 1
    assert len(by_source) >= 3, f"cases from {sorted(by_source)} only"
    assert len(CASES) >= 200


@pytest.mark.parametrize("case", CASES)
def test_engine_agrees_with_recording(case):
    problems = mismatches(case)
    reason = DELIBERATE_DIFFERENCES.get(case["id"])
    if reason:
        assert problems, f"{case['id']} now agrees with AWS; drop it from DELIBERATE_DIFFERENCES"
        return
    assert not problems, f"{case['id']} ({case['source']}): " + "; ".join(problems)


def test_deliberate_differences_name_real_cases():
    ids = {param.values[0]["id"] for param in CASES}
    assert set(DELIBERATE_DIFFERENCES) <= ids
