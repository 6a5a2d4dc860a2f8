"""The local API end to end over real HTTP: gateway -> runtime -> model server processes.

One `ratings local up` process (as `make local` starts it) serves a copy of Pulumi.local.yaml
with its own ports; the tests call it as a client would and rewrite its stack file live.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from canary.metrics_sources import LocalRuntime
from core.files import write_atomic
from tests.conftest import RATINGS, free_port_block
from tests.stacks import ROOT

ARTICLE = "/local/predicted-ratings/321?items=101,131,162&"


class LocalApi:
    def __init__(self, project: Path, environ: dict[str, str] | None = None):
        self.project = project
        self.stack_file = project / "Pulumi.local.yaml"
        self.values = yaml.safe_load(self.stack_file.read_text())
        local = self.values["config"]["ratings:local"]
        self.url = f"http://127.0.0.1:{local['gatewayPort']}"
        self.runtime = f"http://127.0.0.1:{local['runtimePort']}"
        self.model_ports = {"v1": local["modelPortBase"], "v2": local["modelPortBase"] + 1}
        self.restart_expected = ""
        self.expected_output: list[str] = []  # what a test expects the stack to have said when it stops
        self.process = subprocess.Popen([RATINGS, "local", "up", "--project-dir", str(project)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=project,
                                        env={**os.environ, **(environ or {})})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stdout.read().decode()
            try:
                if self.get(ARTICLE)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the local API did not come up")

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def request(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def configure(self, refused: bool = False, **routing) -> None:
        """Rewrite the stack file atomically, as `canary` does, and wait until the gateway has read it:
        it serves the new routing, or reports that it refused the edit."""
        self.values["config"]["ratings:routing"] = routing
        write_atomic(self.stack_file, yaml.safe_dump(self.values, sort_keys=False))
        if refused:
            self.await_edit(applied=False)
            return
        canary = routing.get("canary") or {}
        self.await_routing(routing["live"], canary.get("version"), canary.get("percent", 0))

    def await_edit(self, applied: bool, seconds: float = 30) -> str:
        """Wait until the gateway has read the stack file as it is now (the dashboard's ``lastEdit``);
        the message it gave."""
        stamp = os.stat(self.stack_file).st_mtime_ns
        deadline = time.monotonic() + seconds
        while True:
            with urllib.request.urlopen(f"{self.runtime}/dashboard/state.json", timeout=10) as answer:
                edit = json.loads(answer.read())["lastEdit"]
            if edit["mtimeNs"] == stamp:
                assert edit["applied"] is applied, edit["message"]
                return edit["message"]
            assert time.monotonic() < deadline, f"the gateway has not read the stack file yet: {edit}"
            time.sleep(0.05)

    def await_routing(self, live: str, candidate: str | None = None, share: float = 0, seconds: float = 30) -> None:
        """Wait until the gateway routes as given (its GetStage answer): a reload takes longer on a
        busy machine."""
        expected = (live, candidate, share)
        deadline = time.monotonic() + seconds
        runtime = LocalRuntime(self.runtime)
        while (served := _traffic_of(runtime.served("local"))) != expected:
            assert time.monotonic() < deadline, f"the gateway still routes {served}, not {expected}"
            time.sleep(0.05)

    def await_file_routing(self) -> None:
        """Wait until the gateway serves the routing the stack file holds now."""
        routing = yaml.safe_load(self.stack_file.read_text())["config"]["ratings:routing"]
        canary = routing.get("canary") or {}
        self.await_routing(routing["live"], canary.get("version"), canary.get("percent", 0))

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=30)
        return output.decode()


def _traffic_of(served) -> tuple[str, str | None, float]:
    """Live version, candidate and its share."""
    return served.live, served.canary.version if served.canary else None, served.canary.percent if served.canary else 0


def _copy_version(trained: Path, folder: Path, version: str) -> None:
    shutil.copytree(trained, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["version"] = version
    (folder / "metadata.json").write_text(json.dumps(metadata))


def local_project(trained: Path, project: Path, routing: dict | None = None, **local: object) -> Path:
    """A project serving copies of the trained model as v1 and v2, on free ports; ``routing`` and
    ``local`` replace or add to the example's ratings:routing and ratings:local."""
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    base = free_port_block(4)
    if routing is not None:
        values["config"]["ratings:routing"] = routing
    values["config"]["ratings:local"] = {"artifacts": "artifacts", "gatewayPort": base, "runtimePort": base + 1,
                                         "modelPortBase": base + 2, **local}
    (project / "Pulumi.local.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    for version in ("v1", "v2"):
        _copy_version(trained, project / "artifacts" / version, version)
    return project


@pytest.fixture(scope="module")
def local_api(trained, tmp_path_factory):
    api = LocalApi(local_project(trained["folder"], tmp_path_factory.mktemp("project"), canarySeed=7))
    yield api
    output = api.stop()
    assert api.process.returncode == 0, output
    assert "stopped" in output
    assert "Traceback" not in output and all(line in output for line in api.expected_output), output
    if api.restart_expected:
        assert f"model server {api.restart_expected} exited with code -9; restarting in 1 s" in output, output
        assert f"model server {api.restart_expected} restarted on" in output, output


def test_the_articles_curl(local_api):
    status, headers, body = local_api.get(ARTICLE)
    assert status == 200 and headers["content-type"] == "application/json"
    ratings = json.loads(body)["ratings"]
    assert len(ratings) == 3 and all(1 <= r <= 5 for r in ratings)
    assert headers["x-model-version"] in {"v1", "v2"}


BAD = [
    ("GET", "/local/predicted-ratings/321", 400, "Missing required request parameters: [items]"),
    ("GET", "/local/predicted-ratings/321?items=", 400, "items: no item ids given"),
    ("GET", "/local/predicted-ratings/321?items=1,abc", 400, "items[1]: 'abc' is not a numeric id"),
    ("GET", "/local/predicted-ratings/abc?items=1", 400, "user_id: 'abc' is not a numeric id"),
    ("GET", "/local/predicted-ratings/321?items=" + urllib.parse.quote('1]}],"x":[{"in0":[2'), 400,
     "items[0]: '1]}]' is not a numeric id"),
    ("GET", "/local/predicted-ratings/321?items=" + ",".join(["5"] * 101), 400,
     "items: 101 ids requested, at most 100 are allowed"),
    ("GET", "/local/predicted-ratings/321?items=" + ",".join(["5"] * 3000), 400, "items: 3000 ids requested"),
    ("POST", "/local/predicted-ratings/321?items=1", 404, "No resource for POST"),
    ("DELETE", "/local/predicted-ratings/321?items=1", 404, "No resource for DELETE"),
    ("GET", "/local/nothing-here", 404, "No resource for GET /local/nothing-here"),
    ("GET", "/prod/predicted-ratings/321?items=1", 404, "No resource for GET"),
]


@pytest.mark.parametrize(("method", "path", "status", "message"), BAD, ids=[b[3][:40] for b in BAD])
def test_bad_requests_get_a_json_4xx(local_api, method, path, status, message):
    got_status, headers, body = local_api.request(method, path)
    assert got_status == status, body
    assert headers["content-type"] == "application/json"
    assert message in json.loads(body)["message"]


def test_unknown_users_and_items_get_the_documented_fallback(local_api):
    status, _, body = local_api.get("/local/predicted-ratings/999999?items=101,999999")
    assert status == 200 and all(1 <= r <= 5 for r in json.loads(body)["ratings"])


def _versions(api: LocalApi, paths: list[str], workers: int = 8) -> list[tuple[int, str]]:
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(api.get, paths))
    return [(status, headers.get("x-model-version", "")) for status, headers, _ in answers]


def test_canary_share_is_within_four_sigma_of_ten_percent(local_api):
    local_api.configure(live="v1", canary={"version": "v2", "percent": 10, "mode": "request"})
    n = 2000
    answers = _versions(local_api, [f"/local/predicted-ratings/{u % 900 + 1}?items=5" for u in range(n)])
    assert all(status == 200 for status, _ in answers)
    share = sum(version == "v2" for _, version in answers) / n
    assert abs(share - 0.10) <= 4 * math.sqrt(0.10 * 0.90 / n), f"canary share {share:.3f}"


def test_sticky_mode_keeps_each_user_on_one_version(local_api):
    local_api.configure(live="v1", canary={"version": "v2", "percent": 30, "mode": "sticky"})
    users = list(range(1, 61))
    seen: dict[int, set[str]] = {u: set() for u in users}
    for _ in range(4):
        answers = _versions(local_api, [f"/local/predicted-ratings/{u}?items=5" for u in users])
        for user, (status, version) in zip(users, answers, strict=True):
            assert status == 200
            seen[user].add(version)
    assert all(len(versions) == 1 for versions in seen.values())
    assert {"v1", "v2"} == set().union(*seen.values()), "30 % of 60 users should reach both versions"


def test_config_change_switches_routing_with_zero_failures_under_load(local_api):
    local_api.configure(live="v1")
    paths = [f"/local/predicted-ratings/{u % 900 + 1}?items=5,6,7" for u in range(1500)]
    flowing = threading.Event()
    answered: list[int] = []

    def get(path: str) -> tuple[int, dict[str, str], bytes]:
        answer = local_api.get(path)
        answered.append(answer[0])
        if len(answered) >= 200:
            flowing.set()
        return answer

    with concurrent.futures.ThreadPoolExecutor(8) as pool, concurrent.futures.ThreadPoolExecutor(1) as changer:
        change = changer.submit(lambda: (flowing.wait(60), local_api.configure(live="v2")))
        answers = [(status, headers.get("x-model-version", "")) for status, headers, _ in pool.map(get, paths)]
        change.result()
    assert [a for a in answers if a[0] != 200] == []
    assert {version for _, version in answers} == {"v1", "v2"}
    after = _versions(local_api, paths[:200])
    assert {version for _, version in after} == {"v2"}, "new traffic must all go to the new live version"


def test_a_broken_edit_keeps_the_last_good_config(local_api):
    local_api.configure(live="v1")
    local_api.configure(live="v9", refused=True)  # not a configured model: rejected, v1 keeps serving
    assert {version for _, version in _versions(local_api, [ARTICLE] * 20)} == {"v1"}


def _canary_status(api: LocalApi) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(RATINGS).with_name("canary")), "--project-dir", str(api.project), "status",
                           "--window", "1m", "--json"], capture_output=True, text=True, timeout=60)


def test_canary_status_says_when_the_running_api_refused_the_files_routing(local_api):
    """A version added to the file whose model server cannot start (its artifact is damaged): the
    gateway keeps the previous routing, and `canary status` (which reads the file) says the two
    differ instead of showing the file alone."""
    local_api.configure(live="v1")
    assert json.loads(_canary_status(local_api).stdout)["servedDrift"] is None
    version = "v3"
    damaged = local_api.project / "artifacts" / version
    damaged.mkdir(parents=True, exist_ok=True)
    (damaged / "metadata.json").write_text('{"format": "ratings-factorisation/1", "version": "v3"}')
    (damaged / "model.npz").write_bytes(b"PK\x03\x04 cut short")
    local_api.expected_output.append(f"model server v3 did not start: model server v3 exited with code 1 at start: "
                                     f"Error: {damaged}: unreadable model files (BadZipFile: ")
    models = local_api.values["config"]["ratings:models"]
    models.append({**models[1], "name": version, "modelData": "s3://my-ratings-models/local/v3/model.tar.gz"})
    try:
        local_api.configure(live="v1", canary={"version": version, "percent": 20, "mode": "request"}, refused=True)
        drift = json.loads(_canary_status(local_api).stdout)["servedDrift"]
    finally:
        models.pop()
        local_api.configure(live="v1")
    assert drift == ("warning: the running local API routes live v1, no canary, not what Pulumi.local.yaml says "
                     "(live v1, canary v3 at 20 %); it has not applied the file's last edit: a version's model "
                     "server is starting or failed to start, or the edit was refused (its output says why)")


def _pid_listening(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in command and str(port).encode() in command:
                return int(entry.name)
    raise LookupError(f"no model server on port {port}")


def test_metrics_follow_sagemakers_shape(local_api):
    with urllib.request.urlopen(f"{local_api.runtime}/metrics", timeout=10) as answer:
        metrics = json.loads(answer.read())
    assert metrics["EndpointName"] == "ratings-local"
    latest = metrics["Variants"]["v1"][-1]
    assert {"Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency"} <= set(latest)
    assert latest["Invocations"] > 0


def test_a_killed_model_server_fails_only_its_share_until_it_is_restarted(local_api):
    """Runs last: it kills v2's model server; the local API restarts it (as SageMaker replaces a
    failed instance) and reports it on its console (checked when the fixture stops it)."""
    local_api.configure(live="v1", canary={"version": "v2", "percent": 30, "mode": "request"})
    os.kill(_pid_listening(local_api.model_ports["v2"]), signal.SIGKILL)
    local_api.restart_expected = "v2"
    answers = [local_api.get(f"/local/predicted-ratings/{u}?items=5") for u in range(1, 101)]
    failed = [(status, body) for status, _, body in answers if status != 200]
    assert failed and all(status == 502 and "message" in json.loads(body) for status, body in failed)
    assert len(failed) < 60, "only the canary's share (30 %) may fail"
    deadline = time.monotonic() + 60
    versions: set[str] = set()
    while "v2" not in versions and time.monotonic() < deadline:
        versions.update(version for status, version in _versions(local_api, [ARTICLE] * 20) if status == 200)
        time.sleep(0.2)
    assert "v2" in versions, "v2 must serve again once restarted"
