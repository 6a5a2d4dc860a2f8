"""Versions added to and removed from a running local stack's file, under load: the stack starts
and stops their model servers itself, as `pulumi up` adds and removes an endpoint's variants, and
no live request fails on the way."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
import yaml

from core.files import write_atomic
from tests.test_canary_e2e import _load, canary
from tests.test_local_e2e import LocalApi, _copy_version, local_project

SERVED_WITHIN_S = 30.0


@pytest.fixture(scope="module")
def api(trained, tmp_path_factory):
    project = local_project(trained["folder"], tmp_path_factory.mktemp("versions"), routing={"live": "v1"})
    _copy_version(trained["folder"], project / "artifacts" / "v3", "v3")  # `ratings train v3` was run
    local = LocalApi(project)
    yield local
    output = local.stop()
    assert "Traceback" not in output, output


def _models(api: LocalApi) -> list[dict]:
    """The stack file's versions as it is now (a `canary` command may have rewritten it)."""
    api.values = yaml.safe_load(api.stack_file.read_text())
    return api.values["config"]["ratings:models"]


def _write(api: LocalApi) -> None:
    write_atomic(api.stack_file, yaml.safe_dump(api.values, sort_keys=False))


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _invoke(api: LocalApi, variant: str) -> tuple[int, dict]:
    endpoint = api.values["config"]["ratings:endpoint"]["name"]
    request = urllib.request.Request(f"{api.runtime}/endpoints/{endpoint}/invocations",
                                     data=b'{"instances":[{"in0":[1],"in1":[2]}]}', method="POST",
                                     headers={"Content-Type": "application/json",
                                              "X-Amzn-SageMaker-Target-Variant": variant})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_version_added_to_the_file_takes_a_full_canary_within_30_s_and_no_request_fails(api):
    def add_v3_and_start_its_canary():
        started = time.monotonic()
        models = _models(api)
        models.append({**models[1], "name": "v3", "modelData": "s3://my-ratings-models/local/v3/model.tar.gz"})
        _write(api)
        result = canary(api, "start", "v3", "--percent", "100")
        return started, time.monotonic(), result

    answers, (started, returned, result) = _load(api, add_v3_and_start_its_canary,
                                       lambda status, version: (time.monotonic(), status, version))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [status for _, status, _ in answers if status != 200] == [], "a live request failed"
    first_v3 = min(when for when, _, version in answers if version == "v3")
    assert first_v3 - started <= SERVED_WITHIN_S, f"v3 served {first_v3 - started:.1f} s after it was added"
    after = [version for when, _, version in answers if when > returned][-25:]
    assert len(after) == 25 and set(after) == {"v3"}, f"once `canary start` returned, v3 takes every request: {after}"


def test_a_version_removed_from_the_file_is_stopped_and_no_request_fails(api):
    port_of_v2 = api.values["config"]["ratings:local"]["modelPortBase"] + 1
    assert _listening(port_of_v2)

    def remove_v2():
        models = _models(api)
        api.values["config"]["ratings:models"] = [model for model in models if model["name"] != "v2"]
        _write(api)
        deadline = time.monotonic() + 30
        while _listening(port_of_v2):
            assert time.monotonic() < deadline, "v2's model server still runs 30 s after v2 left the file"
            time.sleep(0.2)

    answers, _ = _load(api, remove_v2, lambda status, version: status)
    assert set(answers) == {200}, "a live request failed"
    status, body = _invoke(api, "v2")
    assert status == 400 and "v2" in body["message"] and "v2" not in body["message"].split("known variants:")[1]


def test_a_canary_to_a_version_removed_while_it_runs_is_refused_until_routed_elsewhere(api):
    """v3 is the running canary: removing it from the file is refused by the config's own check
    (the routing names it), so its server keeps running."""
    models = _models(api)
    api.values["config"]["ratings:models"] = [model for model in models if model["name"] != "v3"]
    _write(api)
    message = api.await_edit(applied=False)
    assert "v3" in message
    api.values["config"]["ratings:models"] = models
    _write(api)
    api.await_edit(applied=True)
    assert _invoke(api, "v3")[0] == 200
