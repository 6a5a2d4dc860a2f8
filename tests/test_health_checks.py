"""Model-server health checks (emulator/supervisor.py): a server that stops answering /ping (a
hung or SIGSTOPped process) is replaced within the bound, and a program squatting on a model
server's port is never taken for it (the identity /ping answers, emulator/processes.py)."""

from __future__ import annotations

import http.server
import os
import signal
import sys
import threading
import time

import pytest

from emulator import processes
from tests.conftest import free_port
from tests.test_local_e2e import ARTICLE, LocalApi, _pid_listening, local_project

FAST_CHECKS = {"RATINGS_HEALTH_EVERY_S": "0.5", "RATINGS_HEALTH_TIMEOUT_S": "0.5", "RATINGS_UNHEALTHY_AFTER": "2"}


@pytest.fixture(scope="module")
def checked_api(trained, tmp_path_factory):
    project = local_project(trained["folder"], tmp_path_factory.mktemp("health"), {"live": "v1"})
    api = LocalApi(project, FAST_CHECKS)
    yield api
    if api.process.poll() is None:  # the test stops it to read its console
        api.stop()


def test_a_stopped_model_server_is_replaced_within_the_bound(checked_api):
    """SIGSTOP: the process lives but answers nothing, which its exit status never shows."""
    stopped = _pid_listening(checked_api.model_ports["v1"])
    os.kill(stopped, signal.SIGSTOP)
    deadline = time.monotonic() + 30  # 2 failed checks of 0.5 s every 0.5 s, then a restart
    while time.monotonic() < deadline:
        try:
            if _pid_listening(checked_api.model_ports["v1"]) != stopped and checked_api.get(ARTICLE)[0] == 200:
                break
        except (LookupError, OSError):
            pass
        time.sleep(0.2)
    else:
        pytest.fail("the stopped model server was not replaced within 30 s")
    output = checked_api.stop()
    assert "model server v1 failed 2 health checks in a row" in output and "replacing it" in output, output
    assert "model server v1 restarted on" in output


class _Squatter(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        return None


def test_a_program_on_the_port_is_not_taken_for_the_model_server(tmp_path, monkeypatch):
    """It answers /ping 200, as any web server may, but not with the identity given to the process
    started for the version: the start fails naming the port, rather than serving its answers."""
    port = free_port()
    squatter = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Squatter)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    monkeypatch.setattr(processes, "RATINGS", sys.executable)  # a child that never binds: only the squatter answers
    try:
        with pytest.raises(processes.StartError, match=f"port {port} answers /ping, but not as model server v1"):
            processes.start("v1", tmp_path, port, tmp_path / "v1.log", timeout=10,
                            env={**os.environ, "PYTHONSTARTUP": ""})
    finally:
        squatter.shutdown()
