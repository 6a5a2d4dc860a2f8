"""The stage cache on the local stage (``api.cache``), as a client and the judge see it.

API Gateway keeps an answer per cache key for the method's TTL and serves it without calling the
integration ("Cache settings for REST APIs in API Gateway"); the key here is the method's cache
key parameters, the user and the items. A canary's requests never use the stage cache (the stack
sets ``useStageCache: false``), and a promotion or rollback empties it, as `canary` flushes the
deployed stage's cache on every flip: answers of the version that was live are never served after
it. Only 200 answers are kept; the cache holds at most ``MAX_ENTRIES`` (the cluster's size in GB
is not emulated), the oldest going first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from emulator.gateway_context import RequestContext
from emulator.http import Answer

MAX_ENTRIES = 10_000
MSG_FLUSHED = "stage cache flushed: {live} is live now (it was {before})"


@dataclass(frozen=True)
class _Entry:
    stored: float
    answer: Answer


class StageCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic, report: Callable[[str], None] = lambda line: None):
        self._clock, self._report = clock, report
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._live: str | None = None

    def lookup(self, context: RequestContext) -> Answer | None:
        """The cached answer for this request, if the stage caches and one is fresh."""
        cache = context.state.config.api.cache
        if cache is None or context.is_canary:
            return None
        self._follow(context.state.config.routing.live)
        with self._lock:
            entry = self._entries.get(_key(context))
            if entry is None or self._clock() - entry.stored >= cache.ttl_seconds:
                return None
            return entry.answer

    def store(self, context: RequestContext) -> None:
        """Keep a live 200; not one from a request that began before a flip (the version it asked is
        no longer live, and the cache was emptied for the one that is)."""
        cache = context.state.config.api.cache
        answer = context.answer
        if cache is None or context.is_canary or answer is None or answer.status != 200 or not cache.ttl_seconds:
            return
        with self._lock:
            if context.state.config.routing.live != self._live:
                return
            self._entries[_key(context)] = _Entry(self._clock(), answer)
            self._entries.move_to_end(_key(context))
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def _follow(self, live: str) -> None:
        """Empty the cache when the live version changed (a promotion or rollback)."""
        if live == self._live:
            return
        with self._lock:
            before, self._live = self._live, live
            if before is not None and self._entries:
                self._entries.clear()
                self._report(MSG_FLUSHED.format(live=live, before=before))


def _key(context: RequestContext) -> tuple[str, str]:
    return context.path_parameters.get("user_id", ""), context.query.get("items", "")
