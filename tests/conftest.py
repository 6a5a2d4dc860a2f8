"""Shared fixtures: a real trained version (once per session) and running model servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from filelock import FileLock

from core.files import write_atomic

RATINGS = str(Path(sys.executable).with_name("ratings"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_block(count: int, start: int = 20000, stop: int = 32000) -> int:
    """The first of ``count`` consecutive free ports below the ephemeral range (so no client
    connection can take one of them while the test starts its servers)."""
    import random

    for base in random.Random().sample(range(start, stop - count, count), 200):
        probes = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no block of free ports")


def _run_folder(tmp_path_factory) -> Path:
    """A folder of this test run that every pytest-xdist worker shares (the base temp without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict[str, object]:
    """`ratings train v1` on the real MovieLens 100k, as a user runs it: once per test run, however
    many workers ask for it (the first trains, the others wait on the lock)."""
    out = _run_folder(tmp_path_factory) / "trained-v1"
    with FileLock(f"{out}.lock"):
        if not (out / "stdout.txt").exists():
            done = subprocess.run([RATINGS, "train", "v1", "--out", str(out), "--quiet"], capture_output=True,
                                  text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            write_atomic(out / "stdout.txt", done.stdout)
    return {"folder": out / "v1", "stdout": (out / "stdout.txt").read_text()}


class Server:
    """A `ratings serve` process on a free loopback port (emulator.processes), stopped by the fixture."""

    def __init__(self, model_dir: Path, extra_env: dict[str, str] | None = None):
        import os
        import tempfile

        from emulator import processes

        self._server = processes.start("test", model_dir, free_port(), Path(tempfile.mkdtemp()) / "server.log",
                                       env={**os.environ, **(extra_env or {})})
        self.process = self._server.process
        self.url = self._server.url

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def moto_ssm(monkeypatch):
    """SSM Parameter Store under moto, for a cloud stack's run registry (canary/run_registry.py):
    moto answers only clients that send, so the behaviour model's clients (tests/aws/clients.py,
    answered before sending) are untouched."""
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield
