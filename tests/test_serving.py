"""The model server over real HTTP on loopback: contract, 4xx table, and it keeps serving."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from serving.environment import ServerEnvironment
from tests.conftest import Server
from tests.model_fixtures import save_tiny

ARTICLE = {"instances": [{"in0": [321], "in1": [101]}, {"in0": [321], "in1": [131]}, {"in0": [321], "in1": [162]}]}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def trained_server(trained):
    server = Server(trained["folder"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory):
    server = Server(save_tiny(tmp_path_factory.mktemp("tiny") / "m"), {"RATINGS_MAX_BODY_BYTES": "2048"})
    yield server
    server.stop()


def test_article_example_gets_three_ratings_in_range(trained_server):
    status, headers, body = trained_server.request("POST", "/invocations", json.dumps(ARTICLE).encode(), JSON)
    assert status == 200 and headers["x-model-version"] == "v1"
    scores = [p["scores"][0] for p in json.loads(body)["predictions"]]
    assert len(scores) == 3 and all(1 <= s <= 5 for s in scores)


def test_ping_is_ready(trained_server):
    assert trained_server.request("GET", "/ping")[0] == 200


BAD = [
    ("POST", "/invocations", b'{"instances": [', JSON, 400, "body: not valid JSON"),
    ("POST", "/invocations", b'{"instances": [{"in0": ["x"], "in1": [1]}]}', JSON, 400, "instances[0].in0"),
    ("POST", "/invocations", b'{"error": "items[0]: \'1]}]\' is not a numeric id"}', JSON, 400, "items[0]: '1]}]'"),
    ("POST", "/invocations", b"a,b", {"Content-Type": "text/csv"}, 415, "content type 'text/csv'"),
    ("POST", "/invocations", b'{"instances": [' + b'{"in0": [1], "in1": [1]},' * 200 + b"]}", JSON, 413,
     "body of"),
    ("POST", "/invocations", json.dumps(ARTICLE).encode(), {**JSON, "Accept": "text/html"}, 406, "accept"),
    ("GET", "/invocations", None, {}, 405, "GET /invocations: Method Not Allowed"),
    ("GET", "/nope", None, {}, 404, "GET /nope: Not Found"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "message"), BAD,
                         ids=[f"{b[4]}-{b[5][:30]}" for b in BAD])
def test_bad_requests_get_json_4xx_and_the_server_keeps_serving(tiny_server, method, path, body, headers, status,
                                                                 message):
    got_status, got_headers, got_body = tiny_server.request(method, path, body, headers)
    assert got_status == status
    assert got_headers["content-type"].startswith("application/json")
    assert json.loads(got_body)["message"].startswith(message)
    ok = tiny_server.request("POST", "/invocations", b'{"instances": [{"in0": [1], "in1": [10]}]}', JSON)
    assert ok[0] == 200


def test_environment_follows_sagemaker_conventions():
    with mock.patch.dict("os.environ", {"SM_MODEL_DIR": "/models/v2", "SAGEMAKER_BIND_TO_PORT": "9000"}, clear=True):
        assert ServerEnvironment.from_environ() == ServerEnvironment("/models/v2", 9000, 1024 * 1024)
    with mock.patch.dict("os.environ", {}, clear=True):
        assert ServerEnvironment.from_environ() == ServerEnvironment()
    with mock.patch.dict("os.environ", {"SAGEMAKER_BIND_TO_PORT": "http"}, clear=True), \
            pytest.raises(ValueError, match="SAGEMAKER_BIND_TO_PORT='http' is not a whole number"):
        ServerEnvironment.from_environ()


def test_serve_refuses_a_missing_model_with_one_line(tmp_path):
    import subprocess

    from tests.conftest import RATINGS

    done = subprocess.run([RATINGS, "serve", "--model-dir", str(tmp_path), "--port", "1"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("Error: ") and "missing metadata.json" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_error_quoting_half_a_surrogate_pair_is_a_400_in_ascii_json(tiny_server):
    """The request template cuts client text at 40 UTF-16 units (Java strings), which can split an
    emoji's surrogate pair; the model's error must still encode (before: a crash, 500)."""
    body = b'{"error": "user_id: \'' + b"a" * 39 + b'\\ud83d\' is not a numeric id"}'
    status, headers, answer = tiny_server.request("POST", "/invocations", body, JSON)
    assert status == 400 and headers["content-type"] == "application/json"
    assert answer.isascii() and json.loads(answer)["message"] == "user_id: '" + "a" * 39 + "\ud83d' is not a numeric id"


class _FailsOnce:
    """A model whose first prediction raises an unexpected error (a bug, not a bad request)."""

    version = "flaky"

    def __init__(self):
        self.calls = 0

    def predict(self, users, items):
        import numpy as np

        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("unexpected")
        return np.full(len(users), 3.0)


def test_an_unexpected_error_is_a_json_500_and_the_connection_stays_usable(tmp_path):
    """Starlette's server-error middleware re-raises after answering and uvicorn then closes the
    connection under a client that reuses it; the server answers such errors itself instead."""
    import asyncio
    import http.client
    import threading

    from emulator.local import _server
    from serving.app import ModelHolder, create_app
    from tests.conftest import free_port

    holder = ModelHolder(str(tmp_path))
    holder.model = _FailsOnce()
    port = free_port()
    server = _server(create_app(holder, 4096), port)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(100):
            try:
                connection.request("GET", "/ping")
                connection.getresponse().read()
                break
            except OSError:
                connection.close()
                threading.Event().wait(0.05)
        answers = []
        for _ in range(3):
            connection.request("POST", "/invocations", b'{"instances": [{"in0": [1], "in1": [10]}]}', JSON)
            answer = connection.getresponse()
            answers.append((answer.status, json.loads(answer.read())))
        assert answers[0] == (500, {"message": "internal error; see the server log"})
        assert answers[1:] == [(200, {"predictions": [{"scores": [3.0]}]})] * 2, "same connection, still served"
    finally:
        server.should_exit = True
        thread.join(10)
