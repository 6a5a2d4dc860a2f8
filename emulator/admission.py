"""A bounded queue in front of one model server: at most ``slots`` invocations in flight.

Without it a burst waits for a pooled connection inside the HTTP client's connect timeout and
fails as if the model were down. With it, a burst waits its turn (within the gateway's
integration timeout); only past ``max_waiting`` is an invocation refused, as throttling.
"""

from __future__ import annotations

import asyncio


class QueueFull(Exception):
    """More invocations are waiting than the queue holds."""


class Admission:
    def __init__(self, slots: int, max_waiting: int):
        self._slots = asyncio.Semaphore(slots)
        self.max_waiting = max_waiting
        self.waiting = 0
        self.active = 0  # invocations holding a slot now

    @property
    def idle(self) -> bool:
        return self.active == 0 and self.waiting == 0

    async def __aenter__(self) -> None:
        if self._slots.locked():
            if self.waiting >= self.max_waiting:
                raise QueueFull
            self.waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()
        self.active += 1

    async def __aexit__(self, *exc) -> None:
        self.active -= 1
        self._slots.release()
