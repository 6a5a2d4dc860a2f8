"""The running stack's model servers follow its file, as an endpoint's variants follow `pulumi up`.

A version added to ``ratings:models`` is started (trained first when it has no artifact) on the
first free model port, joins the runtime as a production variant and the supervisor's watch; an
edit routing traffic to it waits until it answers (``emulator.reload``). A version removed from
the file is stopped once the state the gateway serves no longer routes to it: it leaves the
runtime's variants, the requests already sent to it finish, then its process stops. So adding or
removing a version fails no live request and keeps every other version's metrics.

Changes are made one at a time, in the order the file asks for them. A version that fails to
start is reported once and tried again when the file is saved again: at once if its version list
changed, else no sooner than ``RETRY_AFTER_S`` after the failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable

from core import routing
from core.config import StackConfig
from emulator import processes, reload
from emulator.runtime import SageMakerRuntime, Variant
from emulator.supervisor import Supervisor

# Requests that read the previous state may still be on their way to the runtime (reading a
# body, rendering a template) when a version leaves the routing; they reach it within this.
DRAIN_GRACE_S = 2.0
RETRY_AFTER_S = 60.0
PORT_SPAN = 1000  # model ports are looked for from ratings:local.modelPortBase up to this far

STARTING = "model server {version}: added to the stack file; starting it on port {port}"
STARTED = "model server {version} started on {url}; it is a variant of the endpoint now"
START_FAILED = "model server {version} did not start: {error}; saving the stack file again retries it"
STOPPING = "model server {version}: removed from the stack file; stopping it after its last requests"
STOPPED = "model server {version} stopped"
NO_PORT = "no free model port from {base} to {last}; free one or change ratings:local.modelPortBase"

# (config, version, port, stopping): a launch gives up when ``stopping`` is set (the stack stops)
Launch = Callable[[StackConfig, str, int, threading.Event], processes.ModelServer]


class Fleet:
    """Starts and stops model servers as the stack file's version list changes. ``running`` is
    the set of versions with a server up; the state holder reads it to refuse routes to others."""

    def __init__(self, servers: list[processes.ModelServer], runtime: SageMakerRuntime, supervisor: Supervisor,
                 launch: Launch, report: Callable[[str], None], served: Callable[[], StackConfig],
                 recheck: Callable[[], None], drain_s: float):
        self.servers = {server.version: server for server in servers}
        self.running = set(self.servers)
        self._runtime, self._supervisor, self._launch = runtime, supervisor, launch
        self._report, self._served, self._recheck, self._drain_s = report, served, recheck, drain_s
        self._wanted: StackConfig | None = None
        self._failed: dict[str, float] = {}  # version -> when its start failed
        self._wake = asyncio.Event()
        self._stopping = threading.Event()

    def want(self, config: StackConfig) -> None:
        """Called with every valid version of the stack file (applied or waiting)."""
        if self._wanted is not None and config.model_names != self._wanted.model_names:
            self._failed.clear()
        self._wanted = config
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._wanted is not None:
                    await self._reconcile(self._wanted)
        finally:
            self._stopping.set()

    def stop_added(self, started_with: list[processes.ModelServer]) -> None:
        """Stop the servers this fleet started; the caller stops those it was given."""
        for server in self.servers.values():
            if server not in started_with:
                server.stop()

    async def _reconcile(self, wanted: StackConfig) -> None:
        change = reload.fleet_change(wanted, self.running, self._served())
        now = time.monotonic()
        for version in change.start:
            if now - self._failed.get(version, -RETRY_AFTER_S) >= RETRY_AFTER_S:
                await self._start(wanted, version)
        for version in change.stop:
            await self._stop(version)

    async def _start(self, config: StackConfig, version: str) -> None:
        try:
            port = self._free_port(config)
            self._report(STARTING.format(version=version, port=port))
            server = await self._launched(config, version, port)
        except processes.StartError as error:
            self._failed[version] = time.monotonic()
            self._report(START_FAILED.format(version=version, error=error))
            return
        weights = routing.variant_weights(config.model_names, config.endpoint.default_variant)
        self._runtime.add_variant(Variant(version, server.url, weights.get(version, 0.0)))
        self.servers[version] = server
        self._supervisor.add(server)
        self.running.add(version)
        self._report(STARTED.format(version=version, url=server.url))
        self._recheck()

    async def _stop(self, version: str) -> None:
        self._report(STOPPING.format(version=version))
        server = self.servers.pop(version)
        self.running.discard(version)
        await asyncio.sleep(DRAIN_GRACE_S)
        await self._runtime.remove_variant(version, self._drain_s)
        await self._supervisor.release(server)
        await asyncio.to_thread(server.stop)
        self._report(STOPPED.format(version=version))

    async def _launched(self, config: StackConfig, version: str, port: int) -> processes.ModelServer:
        """Launch in a thread. A shutdown while it runs tells the launch to give up (a training
        run is killed), waits for it and stops what it started: no model server outlives the stack."""
        starting = asyncio.ensure_future(asyncio.to_thread(self._launch, config, version, port, self._stopping))
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            self._stopping.set()
            with contextlib.suppress(Exception):
                (await starting).stop()
            raise

    def _free_port(self, config: StackConfig) -> int:
        local = config.local
        taken = {server.port for server in self.servers.values()} | {local.gateway_port, local.runtime_port}
        for port in range(local.model_port_base, local.model_port_base + PORT_SPAN):
            if port not in taken and _bindable(port):
                return port
        raise processes.StartError(NO_PORT.format(base=local.model_port_base,
                                                  last=local.model_port_base + PORT_SPAN - 1))




def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
