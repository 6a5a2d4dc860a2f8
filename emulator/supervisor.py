"""Keeps model servers alive: a server that exits, or stops answering its health check, is
reported and restarted, with backoff.

SageMaker pings a container and replaces an instance that fails its health checks; locally the
closest thing is to start the process again on the same port, so the runtime's variant URL stays
valid. A server is pinged every ``Limits.health_every_s``; one that fails ``unhealthy_after``
pings in a row (no answer within ``health_timeout_s``, as a hung or stopped process gives none,
or the answer of another program) is killed and restarted like one that exited. Restarts back off
(1 s, doubling to 30 s) so a server that crashes at start-up does not spin; a server that stayed
up for ``STABLE_AFTER`` seconds starts again from the shortest delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator import processes
from emulator.limits import Limits

CHECK_EVERY = 0.25
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0

EXITED = "model server {version} exited with code {code}; restarting in {delay:g} s (log: {log})"
RESTARTED = "model server {version} restarted on {url}"
RESTART_FAILED = "model server {version} did not restart: {error}"
UNHEALTHY = ("model server {version} failed {count} health checks in a row (no /ping answer within {timeout:g} s, "
             "or not from the process started here); replacing it")


def next_delay(previous: float | None, up_for: float) -> float:
    """Backoff: the first delay after a stable run, else double the previous one (capped)."""
    if previous is None or up_for >= STABLE_AFTER:
        return FIRST_DELAY
    return min(MAX_DELAY, previous * 2)


@dataclass
class _Watch:
    server: processes.ModelServer
    started: float = field(default_factory=time.monotonic)
    delay: float | None = None
    restarting: asyncio.Task | None = None
    checking: asyncio.Task | None = None
    checked: float = field(default_factory=time.monotonic)
    failed_checks: int = 0


class Supervisor:
    """Watches a changing set of servers: the running stack adds a version's server when the stack
    file gains it, and releases one before stopping it (``emulator.fleet``)."""

    def __init__(self, servers: list[processes.ModelServer], report: Callable[[str], None],
                 restart: Callable[[processes.ModelServer], None] = processes.restart,
                 limits: Limits | None = None):
        self._report, self._restart, self._bounds = report, restart, limits or Limits()
        self._watches = {id(server): _Watch(server) for server in servers}

    def add(self, server: processes.ModelServer) -> None:
        self._watches[id(server)] = _Watch(server)

    async def release(self, server: processes.ModelServer) -> None:
        """Stop watching ``server``; a restart under way finishes first, so its process is the one
        the caller stops."""
        watch = self._watches.pop(id(server), None)
        if watch is not None:
            await _cancel(watch)

    async def run(self) -> None:
        """Until cancelled, restart any server whose process has exited or fails its checks."""
        try:
            while True:
                await asyncio.sleep(CHECK_EVERY)
                for watch in list(self._watches.values()):
                    self._look_at(watch)
        finally:
            for watch in list(self._watches.values()):
                await _cancel(watch)

    def _look_at(self, watch: _Watch) -> None:
        if watch.restarting is not None and not watch.restarting.done():
            return
        code = watch.server.process.poll()
        if code is not None:
            watch.failed_checks = 0
            watch.restarting = asyncio.create_task(_restart(watch, code, self._report, self._restart))
        elif watch.checking is None and time.monotonic() - watch.checked >= self._bounds.health_every_s:
            watch.checking = asyncio.create_task(_check(watch, self._report, self._bounds))


async def _cancel(watch: _Watch) -> None:
    pending = [task for task in (watch.restarting, watch.checking) if task is not None]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def supervise(servers: list[processes.ModelServer], report: Callable[[str], None],
                    restart: Callable[[processes.ModelServer], None] = processes.restart,
                    limits: Limits | None = None) -> None:
    """Watch a fixed set of servers until cancelled."""
    await Supervisor(servers, report, restart, limits).run()


async def _check(watch: _Watch, report: Callable[[str], None], bounds: Limits) -> None:
    """One health check; past ``unhealthy_after`` failures in a row the process is killed, and the
    loop restarts it as one that exited."""
    try:
        answered = await asyncio.to_thread(processes.ping, watch.server, bounds.health_timeout_s)
        watch.failed_checks = 0 if answered is processes.Ping.OK else watch.failed_checks + 1
        if watch.failed_checks >= bounds.unhealthy_after and watch.server.process.poll() is None:
            report(UNHEALTHY.format(version=watch.server.version, count=watch.failed_checks,
                                    timeout=bounds.health_timeout_s))
            watch.server.process.kill()
            watch.failed_checks = 0
    finally:
        watch.checked, watch.checking = time.monotonic(), None


async def _restart(watch: _Watch, code: int, report, restart) -> None:
    server = watch.server
    watch.delay = next_delay(watch.delay, time.monotonic() - watch.started)
    report(EXITED.format(version=server.version, code=code, delay=watch.delay, log=server.log_file))
    await asyncio.sleep(watch.delay)
    starting = asyncio.ensure_future(asyncio.to_thread(restart, server))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:  # shutting down: let the start finish so stop() sees the new process
        with contextlib.suppress(Exception):
            await starting
        raise
    except processes.StartError as error:
        report(RESTART_FAILED.format(version=server.version, error=error))
        watch.started = time.monotonic()  # counts as a failed run: the next delay doubles
        return
    watch.started = time.monotonic()
    report(RESTARTED.format(version=server.version, url=server.url))
