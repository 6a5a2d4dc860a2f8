"""Model servers as child processes: one `ratings serve` per version, each on its own port."""

from __future__ import annotations

import hmac
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from core.names import MODEL_SERVER_IDENTITY_ENV as IDENTITY
from core.names import MODEL_SERVER_IDENTITY_HEADER as IDENTITY_HEADER

RATINGS = str(Path(sys.executable).with_name("ratings"))


class StartError(RuntimeError):
    """A model server that did not come up; the message says which and why. ``process``: the
    attempt's own process, so a supervisor reports how that attempt exited, not an older one."""

    def __init__(self, message: str, process: subprocess.Popen | None = None):
        super().__init__(message)
        self.process = process


LOG_TAIL_LINES = 20
LOG_TAIL_BYTES = 4096


def log_tail(log_file: Path, since: int = 0) -> str:
    """The last lines an attempt wrote to ``log_file`` from byte ``since``: a restart appends to the
    log, and an error message carries what this attempt said, not the whole history."""
    try:
        with log_file.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(since, size - LOG_TAIL_BYTES))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


@dataclass
class ModelServer:
    version: str
    port: int
    process: subprocess.Popen
    model_dir: Path | None = None
    log_file: Path | None = None
    env: dict[str, str] | None = None
    identity: str = ""  # what this process answers on /ping (IDENTITY_HEADER); "" for one not started here

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(version: str, model_dir: Path, port: int, log_file: Path, timeout: float = 60.0,
          env: dict[str, str] | None = None, append_log: bool = False) -> ModelServer:
    """Start and wait for /ping; the server's output goes to ``log_file`` (kept on a restart)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    identity = secrets.token_hex(16)
    with log_file.open("ab" if append_log else "wb") as log:
        since = log.tell()
        process = subprocess.Popen([RATINGS, "serve", "--model-dir", str(model_dir), "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT,
                                   env={**(os.environ if env is None else env), IDENTITY: identity})
    server = ModelServer(version, port, process, model_dir, log_file, env, identity)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise StartError(f"model server {version} exited with code {code} at start: "
                             f"{log_tail(log_file, since)}", process)
        answered = ping(server, timeout=1.0)
        if answered is Ping.OK:
            return server
        if answered is Ping.STRANGER:
            server.stop()
            raise StartError(MSG_STRANGER.format(version=version, port=port), process)
        time.sleep(0.1)
    server.stop()
    raise StartError(f"model server {version} on port {port} was not ready within {timeout:.0f} s", process)


class Ping(Enum):
    OK = "ok"  # 200, from the process started for this version
    DOWN = "down"  # no answer in time, or not 200 (loading, hung, gone)
    STRANGER = "stranger"  # 200 from another program on the port


MSG_STRANGER = ("port {port} answers /ping, but not as model server {version} started here: another program "
                "holds the port; stop it or change ratings:local.modelPortBase")


def ping(server: ModelServer, timeout: float) -> Ping:
    """SageMaker's health check, ``GET /ping``, with the identity this runtime gave the process."""
    try:
        with urllib.request.urlopen(f"{server.url}/ping", timeout=timeout) as answer:
            if answer.status != 200:
                return Ping.DOWN
            proved = answer.headers.get(IDENTITY_HEADER, "")
    except OSError:
        return Ping.DOWN
    return Ping.OK if hmac.compare_digest(proved, server.identity) else Ping.STRANGER


def restart(server: ModelServer, timeout: float = 60.0) -> None:
    """Start ``server`` again on its port and folder; its object now holds the new process."""
    assert server.model_dir is not None and server.log_file is not None, "set by start(), which made it"
    try:
        fresh = start(server.version, server.model_dir, server.port, server.log_file, timeout, server.env,
                      append_log=True)
    except StartError as error:
        if error.process is not None:  # the supervisor then sees how this attempt exited
            server.process = error.process
        raise
    server.process, server.identity = fresh.process, fresh.identity
