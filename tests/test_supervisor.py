"""Model-server supervision: an exited server is reported and restarted, with backoff.

SageMaker replaces an unhealthy instance behind an endpoint without the caller doing anything
(https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-deploy-models.html); the local
stand-in restarts the process on the same port and says so.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator import processes, supervisor


@pytest.mark.parametrize(("previous", "up_for", "delay"), [
    (None, 0.0, 1.0),
    (1.0, 0.5, 2.0),
    (16.0, 0.5, 30.0),
    (30.0, 0.5, 30.0),
    (30.0, supervisor.STABLE_AFTER, 1.0),
])
def test_backoff_doubles_to_a_cap_and_resets_after_a_stable_run(previous, up_for, delay):
    assert supervisor.next_delay(previous, up_for) == delay


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_killed_server_is_reported_and_restarted(monkeypatch):
    monkeypatch.setattr(supervisor, "FIRST_DELAY", 0.1)
    server = processes.ModelServer("v2", 1, _sleeper(), log_file=Path("v2.log"))
    reports: list[str] = []

    def restart(target: processes.ModelServer) -> None:
        target.process = _sleeper()

    async def scenario() -> None:
        watching = asyncio.create_task(supervisor.supervise([server], reports.append, restart))
        first = server.process
        first.kill()
        deadline = time.monotonic() + 10
        while not any("restarted" in line for line in reports) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        assert server.process is not first and server.process.poll() is None

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    assert reports[0] == "model server v2 exited with code -9; restarting in 0.1 s (log: v2.log)"
    assert reports[1] == "model server v2 restarted on http://127.0.0.1:1"


def test_a_failed_restart_is_reported_and_tried_again_later(monkeypatch):
    monkeypatch.setattr(supervisor, "FIRST_DELAY", 0.05)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    server = processes.ModelServer("v1", 1, dead)
    reports: list[str] = []

    def restart(target: processes.ModelServer) -> None:
        raise processes.StartError("model server v1 exited: no model")

    async def scenario() -> None:
        watching = asyncio.create_task(supervisor.supervise([server], reports.append, restart))
        deadline = time.monotonic() + 10
        while sum("did not restart" in line for line in reports) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)

    asyncio.run(scenario())
    assert reports[1] == "model server v1 did not restart: model server v1 exited: no model"
    assert "restarting in 0.05 s" in reports[0] and "restarting in 0.1 s" in reports[2], "the delay doubles"


def test_a_failed_restart_says_how_that_attempt_exited_and_only_what_it_wrote(tmp_path, monkeypatch):
    """A restart appends to the server's log: the error carries the attempt's last lines and its own
    exit code, and the next report names that code, not the first crash's -9 again."""
    log = tmp_path / "v1.log"
    log.write_text("".join(f"an earlier attempt's line {n}\n" for n in range(5000)))
    monkeypatch.setattr(processes, "RATINGS", sys.executable)  # `python serve ...`: exits 2 at once

    killed = _sleeper()
    killed.kill()
    killed.wait()
    server = processes.ModelServer("v1", 1, killed, Path("."), log)
    with pytest.raises(processes.StartError) as failed:
        processes.restart(server, timeout=10)
    message = str(failed.value)
    assert message.startswith("model server v1 exited with code 2 at start: ")
    assert "earlier attempt" not in message and len(message) < 4096 + 100
    assert server.process.poll() == 2, "the supervisor now watches this attempt's process"
