"""Model servers as child processes: one `ratings serve` per version, each on its own port."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

RATINGS = str(Path(sys.executable).with_name("ratings"))


class StartError(RuntimeError):
    """A model server that did not come up; the message says which and why."""


@dataclass
class ModelServer:
    version: str
    port: int
    process: subprocess.Popen
    model_dir: Path | None = None
    log_file: Path | None = None
    env: dict[str, str] | None = None

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
    with log_file.open("ab" if append_log else "wb") as log:
        process = subprocess.Popen([RATINGS, "serve", "--model-dir", str(model_dir), "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    server = ModelServer(version, port, process, model_dir, log_file, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"model server {version} exited: {log_file.read_text().strip()}")
        try:
            with urllib.request.urlopen(f"{server.url}/ping", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise StartError(f"model server {version} on port {port} was not ready within {timeout:.0f} s")


def restart(server: ModelServer, timeout: float = 60.0) -> None:
    """Start ``server`` again on its port and folder; its object now holds the new process."""
    assert server.model_dir is not None and server.log_file is not None, "set by start(), which made it"
    fresh = start(server.version, server.model_dir, server.port, server.log_file, timeout, server.env, append_log=True)
    server.process = fresh.process
