"""The local stack with its logs on a 256 KB tmpfs that fills up: every request still gets its
200 (a full disk once turned every answer into a plain-text 500), the failed writes are counted on
``/metrics`` and said once on the console. Needs root to mount the tmpfs (as on this project's CI
machines); elsewhere the test says why it cannot run."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from tests.test_local_e2e import ARTICLE, LocalApi, local_project

TMPFS_BYTES = 256 * 1024
REQUESTS = 3000  # about 300 bytes of access log each: the tmpfs is full a third of the way through


@pytest.fixture
def full_disk_api(trained, tmp_path):
    project = local_project(trained["folder"], tmp_path)
    logs = project / ".cache" / "local-logs"
    logs.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(logs)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        api = LocalApi(project)
        yield api
        if api.process.poll() is None:
            api.stop()
    finally:
        subprocess.run(["umount", "-l", str(logs)], check=False)


def test_a_full_log_disk_never_reaches_an_answer(full_disk_api):
    api = full_disk_api
    statuses = [api.get(ARTICLE)[0] for _ in range(REQUESTS)]
    with urllib.request.urlopen(f"{api.runtime}/metrics", timeout=10) as answer:
        failures = json.loads(answer.read())["AccessLogWriteFailures"]
    assert statuses == [200] * REQUESTS
    assert failures > REQUESTS // 3, "the log filled up and the lost lines are counted"
    output = api.stop()
    assert output.count("the access log cannot be written") == 1, output
    assert "Traceback" not in output, output
