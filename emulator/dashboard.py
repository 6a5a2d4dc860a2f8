"""A live rollout page for the local runtime, at ``/dashboard`` on the SageMaker runtime's port.

It sits beside ``/metrics`` (what ``canary`` analyses locally) rather than on the gateway's
port: the gateway answers every path as the deployed stage would, and a stage has no such page.
The page is three static files (no build step, nothing from elsewhere) polling
``/dashboard/state.json``, which reads the runtime's own metrics through the canary analysis's
local source and judges the candidate with the analysis's default thresholds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canary import run_state
from canary.analysis import Thresholds, judge
from canary.metrics_sources import LocalRuntimeMetrics
from emulator import dashboard_view as view
from emulator.metrics import VariantMetrics

LOG = logging.getLogger("ratings.dashboard")

PREFIX = "/dashboard"
STATE_PATH = f"{PREFIX}/state.json"
STATIC = Path(__file__).with_name("static")
PAGES = {PREFIX: ("dashboard.html", "text/html; charset=utf-8"),
         f"{PREFIX}/": ("dashboard.html", "text/html; charset=utf-8"),
         f"{PREFIX}/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
         f"{PREFIX}/dashboard.css": ("dashboard.css", "text/css; charset=utf-8")}
THRESHOLDS = Thresholds()  # canary's defaults
WINDOW_SECONDS = 600.0  # `canary status`'s default --window: the verdict shown is the one it prints

MSG_NOT_FOUND = "no dashboard resource at {path}; the page is " + PREFIX
MSG_METHOD = "{method} is not allowed on {path}; use GET"
MSG_FAILED = "the dashboard state could not be computed; see the local runtime's log"


class SnapshotMetrics(LocalRuntimeMetrics):
    """The canary's local metrics source over one snapshot of the runtime's counters: the body
    ``GET /metrics`` returns and the aggregation ``canary status`` applies to it, without an HTTP
    request from the runtime to itself, and with one snapshot per poll for every version."""

    def __init__(self, snapshot: dict, window_seconds: float):
        super().__init__("in-process")
        self._snapshot, self._window_seconds = snapshot, window_seconds

    def periods(self, window_seconds: float) -> dict:
        if window_seconds != self._window_seconds:
            raise ValueError(f"this snapshot covers {self._window_seconds:g} s, not {window_seconds:g} s")
        return self._snapshot


def process_alive(pid: int) -> bool:
    """Unlike ``canary``'s check, our own pid counts as alive: the page never runs a rollout."""
    return run_state.process_alive(pid, count_self=True)
    return True


class Dashboard:
    """The page's state on demand. ``config_of`` returns the config the gateway serves now."""

    def __init__(self, metrics: VariantMetrics, config_of: Callable[[], Any], stack_file: Path,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic):
        self.metrics, self.config_of, self.stack_file = metrics, config_of, stack_file
        self._clock, self._monotonic = clock, monotonic
        self._rates = view.RateMeter()

    def state(self) -> dict[str, Any]:
        config, now = self.config_of(), self._clock()
        snapshot = self.metrics.snapshot(now - WINDOW_SECONDS)
        rates = self._rates.observe(view.sample_of(snapshot, self._monotonic())) or {}
        routing = view.routing_view(config)
        names = list(config.model_names) + sorted(set(snapshot["Variants"]) - set(config.model_names))
        endpoint, source = config.endpoint.name, SnapshotMetrics(snapshot, WINDOW_SECONDS)
        window = {name: source.variant_stats(endpoint, name, WINDOW_SECONDS) for name in names}
        verdict = None
        if routing["candidate"] in window and routing["live"] in window:
            verdict = judge(window[routing["live"]], window[routing["candidate"]], THRESHOLDS)
        return {
            "time": now, "endpoint": endpoint, "stackFile": self.stack_file.name, "routing": routing,
            "versions": [{"name": name, "role": view.role_of(routing, name), "share": view.share_of(routing, name),
                          "recent": view.recent_view(rates.get(name)),
                          "latestMinute": view.latest_latency_ms(snapshot["Variants"].get(name, []), now),
                          "window": view.stats_view(window[name])} for name in names],
            "analysis": view.analysis_view(verdict, WINDOW_SECONDS),
            "thresholds": {"max5xxRate": THRESHOLDS.max_5xx_rate},
            "run": view.run_view(self._run_text(), process_alive),
        }

    def _run_text(self) -> str | None:
        try:
            return run_state.path_for(self.stack_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def _answer(status: int, body: bytes, content_type: str, extra: tuple = ()) -> tuple[int, list, bytes]:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *extra]
    return status, headers, body


def _json(status: int, document: Any, extra: tuple = ()) -> tuple[int, list, bytes]:
    return _answer(status, json.dumps(document).encode(), "application/json", extra)


def _load_pages() -> dict[str, tuple[bytes, str]]:
    return {path: ((STATIC / name).read_bytes(), kind) for path, (name, kind) in PAGES.items()}


def respond(dashboard: Dashboard, pages: dict[str, tuple[bytes, str]], method: str, path: str):
    """(status, headers, body) for one request under ``PREFIX``; every refusal is JSON."""
    if path not in pages and path != STATE_PATH:
        return _json(404, {"message": MSG_NOT_FOUND.format(path=path)})
    if method not in ("GET", "HEAD"):
        return _json(405, {"message": MSG_METHOD.format(method=method, path=path)}, ((b"allow", b"GET, HEAD"),))
    if path in pages:
        body, kind = pages[path]
        return _answer(200, body, kind)
    try:
        return _json(200, dashboard.state())
    except Exception:  # a fault of ours: a generic 500, the details in our log
        LOG.exception("dashboard state failed")
        return _json(500, {"message": MSG_FAILED})


def with_dashboard(app, dashboard: Dashboard):
    """``app`` (any ASGI app) with the page answered under ``PREFIX``; other paths go to ``app``."""
    pages = _load_pages()

    async def wrapped(scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await app(scope, receive, send)
            return
        status, headers, body = respond(dashboard, pages, scope["method"], path)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    return wrapped
