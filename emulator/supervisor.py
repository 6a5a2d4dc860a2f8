"""Keeps model servers alive: a server that exits is reported and restarted, with backoff.

SageMaker replaces a failed instance behind an endpoint; locally the closest thing is to start
the process again on the same port, so the runtime's variant URL stays valid. Restarts back off
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

CHECK_EVERY = 0.25
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0

EXITED = "model server {version} exited with code {code}; restarting in {delay:g} s (log: {log})"
RESTARTED = "model server {version} restarted on {url}"
RESTART_FAILED = "model server {version} did not restart: {error}"


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


async def supervise(servers: list[processes.ModelServer], report: Callable[[str], None],
                    restart: Callable[[processes.ModelServer], None] = processes.restart) -> None:
    """Run until cancelled, restarting any server whose process has exited."""
    watches = [_Watch(server) for server in servers]
    try:
        while True:
            await asyncio.sleep(CHECK_EVERY)
            for watch in watches:
                if watch.restarting is not None and not watch.restarting.done():
                    continue
                code = watch.server.process.poll()
                if code is not None:
                    watch.restarting = asyncio.create_task(_restart(watch, code, report, restart))
    finally:
        pending = [watch.restarting for watch in watches if watch.restarting is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


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
