"""The SageMaker hooks: Object2Vec's formats in and out, fallbacks, and precise 4xx errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.model_fixtures import save_tiny, tiny_model
from training import inference


def test_predictions_follow_the_documented_fallbacks():
    model = tiny_model()
    got = model.predict([1, 1, 99, 99, 3], [10, 99, 11, 99, 12])
    assert got.tolist() == pytest.approx([3.5 + 0.2 + 0.1 + 0.1,  # known pair
                                          3.5 + 0.2,  # unknown item: mean + user bias
                                          3.5 + 0.0,  # unknown user: mean + item bias
                                          3.5,  # both unknown: mean
                                          5.0])  # 3.5 + 0.5 + 6.0, clipped


def test_round_trip_through_files(tmp_path):
    loaded = inference.model_fn(str(save_tiny(tmp_path / "m")))
    assert loaded.version == "tiny"
    assert loaded.predict([2], [11]).tolist() == pytest.approx(tiny_model().predict([2], [11]).tolist())


def test_missing_or_foreign_model_dirs_are_clear(tmp_path):
    with pytest.raises(inference.ModelLoadError, match=re.escape("missing metadata.json")):
        inference.load_model(tmp_path)
    folder = save_tiny(tmp_path / "m")
    (folder / "metadata.json").write_text('{"format": "other/9"}')
    with pytest.raises(inference.ModelLoadError, match="format 'other/9'"):
        inference.load_model(folder)


def _cut(folder, size: int) -> None:
    data = (folder / "model.npz").read_bytes()
    (folder / "model.npz").write_bytes(data[:size])


def _without_global_mean(folder) -> None:
    with np.load(folder / "model.npz") as arrays:
        kept = {name: arrays[name] for name in arrays.files if name != "global_mean"}
    np.savez(folder / "model.npz", **kept)


@pytest.mark.parametrize(("damage", "said"), [
    (lambda folder: _cut(folder, 0), "unreadable model files (EOFError: No data left in file)"),
    (lambda folder: _cut(folder, 300), "unreadable model files (BadZipFile: File is not a zip file)"),
    (_without_global_mean, "unreadable model files (model.npz lacks global_mean)"),
])
def test_a_damaged_artifact_is_named_in_one_line(tmp_path, damage, said):
    """A corrupted artifact once crashed the model server with a traceback on every restart."""
    folder = save_tiny(tmp_path / "m")
    damage(folder)
    with pytest.raises(inference.ModelLoadError) as failed:
        inference.load_model(folder)
    assert str(failed.value) == f"{folder}: {said}"


def test_article_request_in_and_out():
    body = json.dumps({"instances": [{"in0": [1], "in1": [10]}, {"in0": [1], "in1": [11]}]})
    pairs = inference.input_fn(body.encode(), "application/json; charset=utf-8")
    payload, media = inference.output_fn(inference.predict_fn(pairs, tiny_model()), "application/json")
    assert media == "application/json"
    scores = [p["scores"][0] for p in json.loads(payload)["predictions"]]
    assert scores == pytest.approx([3.9, 3.5 + 0.2 + 0.05])


def test_jsonlines_in_and_out():
    pairs = inference.input_fn('{"in0": [1], "in1": [10]}\n\n{"in0": [2], "in1": [12]}\n', "application/jsonlines")
    assert pairs == [(1, 10), (2, 12)]
    payload, media = inference.output_fn(np.array([3.0, 4.5]), "application/jsonlines")
    assert media == "application/jsonlines" and payload.decode().splitlines() == ['{"scores":[3.0]}',
                                                                                  '{"scores":[4.5]}']


BAD = [
    ('{"instances": [', "application/json", 400, "body: not valid JSON"),
    ('[1, 2]', "application/json", 400, 'body: expected an object with an "instances" list'),
    ('{"instances": {}}', "application/json", 400, 'body: expected an object with an "instances" list'),
    ('{"instances": []}', "application/json", 400, "instances: empty"),
    ('{"instances": [{"in0": [1]}]}', "application/json", 400, "instances[0]: missing in1"),
    ('{"instances": [{"in0": [1], "in1": [2], "x": 1}]}', None, 400, "instances[0]: unexpected field 'x'"),
    ('{"instances": [{"in0": [1], "in1": [2]}, {"in0": ["x"], "in1": [2]}]}', None, 400,
     "instances[1].in0: expected a list holding one integer id"),
    ('{"instances": [{"in0": [1.5], "in1": [2]}]}', None, 400, "instances[0].in0"),
    ('{"instances": [{"in0": [true], "in1": [2]}]}', None, 400, "instances[0].in0"),
    ('{"instances": [{"in0": [1, 2], "in1": [2]}]}', None, 400, "instances[0].in0"),
    ('{"instances": [7]}', None, 400, "instances[0]: expected an object with in0 and in1"),
    ('{"error": "items[1]: \'x\' is not a numeric id"}', None, 400, "items[1]: 'x' is not a numeric id"),
    ("in0=1", "text/csv", 415, "content type 'text/csv' is not supported"),
    ('{"in0": [1], "in1": [2]}\nnot json', "application/jsonlines", 400, "line 2: not valid JSON"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "message"), BAD, ids=[b[3][:40] for b in BAD])
def test_bad_requests_get_their_status_and_message(body, content_type, status, message):
    with pytest.raises(inference.InferenceError) as raised:
        inference.input_fn(body.encode(), content_type)
    assert raised.value.status == status and str(raised.value).startswith(message)


def test_too_many_instances_and_bad_bytes():
    many = json.dumps({"instances": [{"in0": [1], "in1": [1]}] * (inference.MAX_INSTANCES + 1)})
    with pytest.raises(inference.InferenceError, match="at most 10000 per request"):
        inference.input_fn(many, "application/json")
    with pytest.raises(inference.InferenceError, match="not UTF-8"):
        inference.input_fn(b"\xff\xfe", "application/json")
    with pytest.raises(inference.NotAcceptable):
        inference.output_fn(np.array([3.0]), "text/html")


RESPONSES = [  # (body, content type, accept, status, the JSON body's check)
    (b'{"instances": [{"in0": [1], "in1": [10]}]}', "application/json", None, 200,
     lambda body: body["predictions"][0]["scores"] == [pytest.approx(3.9)]),
    (b'{"error": "items: no item ids given"}', "application/json", None, 400,
     lambda body: body == {"message": "items: no item ids given"}),
    (b"1,10", "text/csv", None, 415, lambda body: "'text/csv' is not supported" in body["message"]),
    (b'{"instances": [{"in0": [1], "in1": [10]}]}', "application/json", "text/csv", 406,
     lambda body: "accept 'text/csv'" in body["message"]),
]


@pytest.mark.parametrize(("body", "content_type", "accept", "status", "check"), RESPONSES,
                         ids=["200", "refusal", "415", "406"])
def test_respond_answers_refusals_with_their_status_and_json(body, content_type, accept, status, check):
    reply = inference.respond(tiny_model(), body, content_type, accept)
    assert (reply.status, reply.media_type) == (status, inference.JSON)
    assert check(json.loads(reply.body))


def test_respond_turns_an_unexpected_failure_into_a_generic_500(caplog):
    reply = inference.respond(None, b'{"instances": [{"in0": [1], "in1": [10]}]}', inference.JSON, None)
    assert (reply.status, json.loads(reply.body)) == (500, {"message": inference.INTERNAL_ERROR})
    assert "invocation failed" in caplog.text  # the details go to the log, not to the client


@pytest.mark.parametrize(("body", "said"), [
    ("[" * 100_000, "nested too deeply to be a request"),  # RecursionError in json.loads
    ('{"instances": [{"in0": [' + "7" * 5_000 + '], "in1": [10]}]}', "not a request (Exceeds the limit"),
])
def test_bodies_the_json_parser_cannot_take_are_a_400(body, said):
    """Neither raises JSONDecodeError: a deeply nested body hits the recursion limit, a 5,000-digit
    number Python's int-conversion limit; both are the client's mistake, not the model's 500."""
    reply = inference.respond(tiny_model(), body.encode(), inference.JSON, None)
    assert reply.status == 400 and said in json.loads(reply.body)["message"]
