"""The local runtime (``emulator.local.serve``: gateway + SageMaker runtime) in a background
thread on free loopback ports, in front of model servers the test chooses: real ``ratings serve``
processes of a tiny model, or in-process ASGI apps that misbehave on purpose."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from pathlib import Path

import uvicorn
import yaml

from emulator import local, processes
from emulator.limits import Limits
from tests.conftest import free_port_block
from tests.stacks import ROOT

PATH = "/local/predicted-ratings"


class NeverExits:
    """The process slot of an in-process fake model server: the supervisor sees it running."""

    def poll(self) -> None:
        return None

    def terminate(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 0


def predictions(body: bytes) -> tuple[int, bytes]:
    """What the real model answers: 400 for the template's {"error": ...}, else one score each."""
    document = json.loads(body)
    if "error" in document:
        return 400, json.dumps({"message": document["error"]}).encode()
    return 200, json.dumps({"predictions": [{"scores": [3.0]} for _ in document["instances"]]}).encode()


def model_app(behaviour=None):
    """An ASGI model server; ``behaviour(body) -> (status, body) | None`` overrides the answer
    (it may be a coroutine function, to wait)."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        answer = behaviour(body) if behaviour else None
        if asyncio.iscoroutine(answer):
            answer = await answer
        status, payload = answer or predictions(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    return app


class RunningApi:
    """Start with ``models`` = {"v1": <model dir, ASGI app or port>, "v2": ...}; ``stop()`` ends it."""

    def __init__(self, folder: Path, models: dict[str, object], limits: Limits | None = None,
                 routing: dict | None = None, throttle: dict | None = None, api: dict | None = None):
        base = free_port_block(2 + len(models))
        self.gateway_port, self.runtime_port = base, base + 1
        self.stack_file = folder / "Pulumi.local.yaml"
        values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
        config = values["config"]
        config["ratings:routing"] = routing or {"live": "v1"}
        if throttle:
            config["ratings:api"]["throttle"] = throttle
        config["ratings:api"].update(api or {})  # more of ratings:api (waf, cache, auth ...)
        config["ratings:local"] = {"artifacts": "artifacts", "gatewayPort": base, "runtimePort": base + 1,
                                   "modelPortBase": base + 2, "canarySeed": 7}
        self.stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
        self.values = values
        self.limits = limits or Limits()
        self.reports: list[str] = []
        self.access_log: list[str] = []
        self._fakes: list[uvicorn.Server] = []
        self.servers = [self._model_server(version, model, base + 2 + n, folder)
                        for n, (version, model) in enumerate(models.items())]
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            self.stop()
            raise RuntimeError("the local runtime did not come up")

    def _model_server(self, version: str, model, port: int, folder: Path) -> processes.ModelServer:
        if isinstance(model, int):  # the port of a server the test runs itself
            return processes.ModelServer(version, model, NeverExits())
        if isinstance(model, Path):
            return processes.start(version, model, port, folder / f"{version}.log", timeout=60)
        self._fakes.append(local._server(model, port))
        return processes.ModelServer(version, port, NeverExits())

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self._task = asyncio.current_task()
        fakes = [asyncio.create_task(fake.serve()) for fake in self._fakes]
        while not all(fake.started for fake in self._fakes):
            await asyncio.sleep(0.01)
        ready = asyncio.Event()
        signal_ready = asyncio.create_task(self._signal(ready))
        try:
            await local.serve(self.stack_file, self.servers, echo=self.reports.append,
                              access_log=self.access_log.append, ready=ready, limits=self.limits)
        except asyncio.CancelledError:
            pass
        finally:
            signal_ready.cancel()
            for fake in self._fakes:
                fake.should_exit = True
            await asyncio.gather(*fakes, return_exceptions=True)

    async def _signal(self, ready: asyncio.Event) -> None:
        await ready.wait()
        self._ready.set()

    def stop(self) -> None:
        if getattr(self, "_task", None) is not None:
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)
        for server in self.servers:
            server.stop()

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.gateway_port, timeout=timeout)

    def get(self, path: str, headers: dict[str, str] | None = None,
            connection: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], dict]:
        own = connection or self.connection()
        try:
            own.request("GET", path, headers=headers or {})
            answer = own.getresponse()
            body = answer.read()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, json.loads(body)
        finally:
            if connection is None:
                own.close()

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.access_log]
