"""The project's templates (vtl/) against the article's example and every awkward input."""

from __future__ import annotations

import json

import pytest

from emulator.vtl import RequestData
from tests.vtl_cases import java_hash, render_request, request_body, template

ARTICLE_PREDICTIONS = {"predictions": [{"scores": [3.527499437332153]}, {"scores": [3.951640844345093]},
                                       {"scores": [3.658416271209717]}]}


def _instances(user: int, items: list[int]) -> dict:
    return {"instances": [{"in0": [user], "in1": [item]} for item in items]}


def test_the_articles_request():
    assert request_body("321", "101,131,162") == _instances(321, [101, 131, 162])


def test_the_articles_response():
    body = template("response.vtl").render(RequestData(body=json.dumps(ARTICLE_PREDICTIONS))).body
    assert json.loads(body) == {"ratings": [3.527499437332153, 3.951640844345093, 3.658416271209717]}


@pytest.mark.parametrize(("user", "items", "expected"), [
    (" 321 ", " 101 , 131 ,162", _instances(321, [101, 131, 162])),   # spaces around ids are trimmed
    ("321", "101,,131,", _instances(321, [101, 131])),                  # empty entries are skipped
    ("0321", "007,0", _instances(321, [7, 0])),                         # leading zeros are dropped
    ("321", "5", _instances(321, [5])),
    ("321", ",".join(["1"] * 100), _instances(321, [1] * 100)),         # exactly maxItems
    ("321", "999999999", _instances(321, [999999999])),
])
def test_accepted_requests(user, items, expected):
    assert request_body(user, items) == expected


@pytest.mark.parametrize(("user", "items", "message"), [
    ("32a1", "1", "user_id: '32a1' is not a numeric id"),
    ("-1", "1", "user_id: '-1' is not a numeric id"),
    ("321", "101,x,abc", "items[1]: 'x' is not a numeric id"),
    ("321", '1]}],"x":[{"in0":[2', "items[0]: '1]}]' is not a numeric id"),
    ("321", "1,2\"}", "items[1]: '2\"}' is not a numeric id"),
    ("321", "1,it's", "items[1]: 'it's' is not a numeric id"),
    ("321", "1,1e3", "items[1]: '1e3' is not a numeric id"),
    ("321", "1234567890", "items[0]: '1234567890' is not a numeric id"),
    ("321", "", "items: no item ids given; pass items=id1,id2,..."),
    ("321", " , ,", "items: no item ids given; pass items=id1,id2,..."),
    ("321", ",".join(["1"] * 101), "items: 101 ids requested, at most 100 are allowed"),
    ("321", ",".join(["1"] * 5000), "items: 5000 ids requested, at most 100 are allowed"),
    # counted by one regex pass before the per-entry loop, which would name the bad id first
    ("321", ",".join(["1"] * 500 + ["x"] + ["2"] * 499), "items: 1000 ids requested, at most 100 are allowed"),
    ("321", ",".join([" 1 "] * 101) + ",,", "items: 101 ids requested, at most 100 are allowed"),
    ("x" * 100, "1", f"user_id: '{'x' * 40}' is not a numeric id"),
])
def test_refused_requests_render_one_error(user, items, message):
    assert request_body(user, items) == {"error": message}


def test_the_maximum_comes_from_the_stage_variable_with_a_default():
    assert request_body("1", "1,2,3", {"maxItems": "2"}) == {"error": "items: 3 ids requested, at most 2 are allowed"}
    assert request_body("1", ",".join(["1"] * 100), {}) == _instances(1, [1] * 100)
    assert "error" in request_body("1", ",".join(["1"] * 101), {})


STICKY = {"variant": "v1", "maxItems": "100", "candidate": "v2", "candidatePercent": "10"}


@pytest.mark.parametrize("user", [str(n) for n in range(0, 400, 7)])
def test_sticky_mode_routes_low_buckets_to_the_candidate(user):
    rendered = render_request(user, "1", STICKY)
    bucket = java_hash(user) % 100  # Python's % is already non-negative, like Java's fixed-up one
    expected = {"X-Amzn-SageMaker-Target-Variant": "v2"} if bucket < 10 else {}
    assert rendered.request_headers == expected


def test_sticky_mode_is_stable_and_ignores_leading_zeros():
    first = render_request("22", "1", STICKY).request_headers
    assert all(render_request(u, "5,6", STICKY).request_headers == first for u in ["22", " 22", "0022"])


def test_request_mode_never_overrides_the_target():
    assert all(not render_request(str(u), "1").request_headers for u in range(200))


@pytest.mark.parametrize(("model_body", "expected"), [
    ({"predictions": []}, {"ratings": []}),
    ({"predictions": [{"scores": [4]}, {"scores": [1.5, 9]}]}, {"ratings": [4, 1.5]}),
])
def test_response_template_always_yields_a_ratings_array(model_body, expected):
    body = template("response.vtl").render(RequestData(body=json.dumps(model_body))).body
    assert json.loads(body) == expected


@pytest.mark.parametrize(("model_body", "message", "status"), [
    ({"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "OriginalStatusCode": 400,
      "OriginalMessage": json.dumps({"message": "instances[2].in1: 'x' is not an integer id"})},
     "instances[2].in1: 'x' is not an integer id", 400),
    ({"OriginalStatusCode": 400, "OriginalMessage": 'it\'s "plain" text'}, 'it\'s "plain" text', 400),
    ({"OriginalStatusCode": 400, "OriginalMessage": '{"message": "a" "b"}'}, '{"message": "a" "b"}', 400),
    ({"OriginalStatusCode": 400, "OriginalMessage": ""}, "the model refused the request", 400),
    ({"ErrorCode": "SERVER_ERROR_FROM_MODEL", "OriginalStatusCode": 500, "OriginalMessage": "it's \"broken\""},
     "the model failed to answer; retry later", None),
    ({"OriginalStatusCode": 0, "OriginalMessage": "Your invocation timed out while waiting for a response"},
     "the model did not answer in time; retry later", 504),
    ({"Message": "Endpoint ratings of account 1 not found."}, "the service could not answer; retry later", None),
    ({"message": "Rate exceeded"}, "too many requests; retry later", 503),
    ({}, "the service could not answer; retry later", None),
])
def test_error_template_gives_a_json_message(model_body, message, status):
    rendered = template("error.vtl").render(RequestData(body=json.dumps(model_body)))
    assert json.loads(rendered.body) == {"message": message}
    assert rendered.status == status
