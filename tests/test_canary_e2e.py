"""`canary` against the running local API: start, status, promote, rollback under load, and an
automated run that aborts on a failing candidate."""

from __future__ import annotations

import concurrent.futures
import math
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import free_port_block
from tests.stacks import ROOT
from tests.test_canary_cli import CANARY
from tests.test_local_e2e import LocalApi, _copy_version


def _break_model(folder: Path) -> None:
    """A version whose server starts but answers every prediction with a 5xx (mismatched factors)."""
    with np.load(folder / "model.npz") as arrays:
        values = dict(arrays)
    values["item_factors"] = values["item_factors"][:, :7]
    np.savez(folder / "model.npz", **values)


@pytest.fixture(scope="module")
def api(trained, tmp_path_factory):
    project = tmp_path_factory.mktemp("canary-project")
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    config = values["config"]
    config["ratings:models"].append({**config["ratings:models"][1], "name": "v3",
                                     "modelData": "s3://my-ratings-models/local/v3/model.tar.gz"})
    config["ratings:routing"] = {"live": "v1"}
    base = free_port_block(5)
    config["ratings:local"] = {"artifacts": "artifacts", "gatewayPort": base, "runtimePort": base + 1,
                               "modelPortBase": base + 2, "canarySeed": 11}
    (project / "Pulumi.local.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    for version in ("v1", "v2", "v3"):
        _copy_version(trained["folder"], project / "artifacts" / version, version)
    _break_model(project / "artifacts" / "v3")
    local = LocalApi(project)
    yield local
    local.stop()


def canary(api: LocalApi, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CANARY, "--project-dir", str(api.project), *args], capture_output=True, text=True,
                          timeout=300)


def _traffic(api: LocalApi, count: int, workers: int = 8) -> list[tuple[int, str]]:
    paths = [f"/local/predicted-ratings/{n % 900 + 1}?items=5,6" for n in range(count)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return [(status, headers.get("x-model-version", "")) for status, headers, _ in pool.map(api.get, paths)]


def _under_load(api: LocalApi, action) -> tuple[list[tuple[int, str]], subprocess.CompletedProcess]:
    """Run ``action`` while 8 clients keep sending requests; return every answer and its result."""
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        n = offset
        while not stop.is_set():
            status, headers, _ = api.get(f"/local/predicted-ratings/{n % 900 + 1}?items=5")
            answers.append((status, headers.get("x-model-version", "")))
            n += 8

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        result = action()
        time.sleep(0.8)  # past the stack-file check
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return answers, result


def test_start_status_promote_rollback(api):
    started = canary(api, "start", "v2", "--percent", "10")
    assert started.returncode == 0, started.stderr
    time.sleep(0.6)
    answers = _traffic(api, 1500)
    assert all(status == 200 for status, _ in answers)
    share = sum(version == "v2" for _, version in answers) / len(answers)
    assert abs(share - 0.10) <= 4 * math.sqrt(0.09 / len(answers)), f"observed canary share {share:.3f}"

    status = canary(api, "status", "--window", "5m")
    assert status.returncode == 0, status.stderr
    lines = [line.split() for line in status.stdout.splitlines()]
    assert ["v2", "canary", "10.0%"] in lines and ["v1", "live", "90.0%"] in lines
    metrics = {row[0]: row for row in lines if len(row) == 5 and row[0] in ("v1", "v2")}
    assert int(metrics["v1"][1]) > int(metrics["v2"][1]) > 100, status.stdout
    assert "verdict: pass" in status.stdout
    chart = api.project / "canary.png"
    charted = canary(api, "status", "--window", "5m", "--chart", str(chart))
    assert charted.returncode == 0 and chart.read_bytes()[:4] == b"\x89PNG"

    answers, promoted = _under_load(api, lambda: canary(api, "promote", "--window", "5m", "--min-requests", "50"))
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert [a for a in answers if a[0] != 200] == []
    assert {version for _, version in _traffic(api, 300)} == {"v2"}, "after promotion all traffic is v2"

    answers, rolled_back = _under_load(api, lambda: canary(api, "rollback"))
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert [a for a in answers if a[0] != 200] == []
    assert {version for _, version in _traffic(api, 300)} == {"v1"}, "after rollback all traffic is v1 again"


def test_an_automated_run_with_a_failing_candidate_rolls_back(api):
    answers, run = _under_load(api, lambda: canary(api, "run", "v3", "--steps", "30,60", "--bake", "3s",
                                                   "--window", "1m", "--min-requests", "20"))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "rolled back: fail: candidate 5xx rate" in run.stdout
    routing = yaml.safe_load(api.stack_file.read_text())["config"]["ratings:routing"]
    assert routing.get("canary") is None and routing["live"] == "v1"
    failed = [status for status, _ in answers if status != 200]
    assert failed and set(failed) == {502}, "only the failing candidate's share fails, as JSON 502"
    assert {version for _, version in _traffic(api, 200)} == {"v1"}
