"""Path parameters over real HTTP: decoded once from the raw path, every answer JSON and logged.

API Gateway routes on the raw, still percent-encoded path and hands the template path parameters
decoded once (LocalStack's API Gateway emulation, tested against AWS, does the same:
localstack/localstack, services/apigateway/next_gen/execute_api/handlers/parse.py,
``_enrich_with_raw_path``). So `%2531` is the text `%31`, never user 1, and control characters
stay in the value for the template (not the transport) to judge.
"""

from __future__ import annotations

import pytest

from tests.local_harness import PATH, RunningApi, model_app


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    running = RunningApi(tmp_path_factory.mktemp("steps"), {"v1": model_app(), "v2": model_app()})
    yield running
    running.stop()


CASES = [
    ("%2531", "user_id: '%31' is not a numeric id"),
    ("3%091", "user_id: '3\\t1' is not a numeric id"),
    ("3%0D1", "user_id: '3\\r1' is not a numeric id"),
    ("%0A", "user_id: '\\n' is not a numeric id"),
    ("4%2F5", "user_id: '4/5' is not a numeric id"),
]


@pytest.mark.parametrize(("user", "message"), CASES, ids=[case[0] for case in CASES])
def test_a_path_parameter_is_decoded_once_and_judged_by_the_template(api, user, message):
    status, headers, body = api.get(f"{PATH}/{user}?items=1")
    assert (status, headers["content-type"]) == (400, "application/json")
    assert body["message"].encode().decode("unicode_escape") == message.encode().decode("unicode_escape")
    assert any(line["path"] == f"{PATH}/{user}" and line["status"] == 400 for line in api.log_lines()), \
        "every answered request must write an access-log line"


@pytest.mark.parametrize("user", ["31", "%0A%0A31", "31%09"])
def test_a_user_id_is_served_once_the_template_trims_it(api, user):
    """The request template trims ids (Java's String.trim drops control characters at the ends)."""
    status, _, body = api.get(f"{PATH}/{user}?items=1,2")
    assert (status, body) == (200, {"ratings": [3.0, 3.0]})


def test_an_unknown_path_with_a_newline_gets_a_json_404_and_a_log_line(api):
    status, headers, body = api.get("/local/nothing%0Ahere")
    assert status == 404 and headers["content-type"] == "application/json" and "No resource" in body["message"]
    assert api.log_lines()[-1]["path"] == "/local/nothing%0Ahere"


@pytest.fixture(scope="module")
def real_api(tmp_path_factory):
    """The runtime in front of real `ratings serve` processes (a tiny hand-made model)."""
    from tests.model_fixtures import save_tiny

    folder = tmp_path_factory.mktemp("real")
    models = {version: save_tiny(folder / version, version) for version in ("v1", "v2")}
    running = RunningApi(folder, models)
    yield running
    running.stop()


def test_a_user_id_cut_through_an_emoji_gets_a_400_not_a_502(real_api):
    """39 ASCII characters and an emoji: the template's 40-unit cut (UTF-16, as in Java) leaves
    half a surrogate pair in the model's error message."""
    status, _, body = real_api.get(f"{PATH}/{'a' * 39}%F0%9F%98%80?items=1")
    assert status == 400 and body["message"].startswith("user_id: '" + "a" * 39)
    assert real_api.get(f"{PATH}/1?items=10")[0] == 200
