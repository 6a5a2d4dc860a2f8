"""A live rollout page for the local runtime, at ``/dashboard`` on the SageMaker runtime's port.

It sits beside ``/metrics`` (what ``canary`` analyses locally) rather than on the gateway's
port: the gateway answers every path as the deployed stage would, and a stage has no such page.
The page is three static files and a vendored charting library (uPlot; no build step, nothing
from elsewhere) polling ``/dashboard/state.json``, which takes one snapshot of the runtime's own metrics and judges the
candidate with ``core``'s analysis and its default thresholds, as ``canary status`` would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import routing as routes
from core import run_state
from core.analysis import judge
from core.config import StackConfig
from core.metrics import VariantStats
from core.thresholds import AnalysisThresholds
from emulator import dashboard_view as view
from emulator.gateway_state import Edit
from emulator.http import Answer, Receive, Send, json_answer, send_answer
from emulator.metrics import VariantMetrics

LOG = logging.getLogger("ratings.dashboard")

PREFIX = "/dashboard"
STATE_PATH = f"{PREFIX}/state.json"
STATIC = Path(__file__).with_name("static")
PAGES = {PREFIX: ("dashboard.html", "text/html; charset=utf-8"),
         f"{PREFIX}/": ("dashboard.html", "text/html; charset=utf-8"),
         f"{PREFIX}/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
         f"{PREFIX}/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
         # uPlot 1.6.32 (MIT, vendor/uPlot.LICENSE) from npm, served from here: the page loads
         # nothing from elsewhere
         f"{PREFIX}/vendor/uPlot.iife.min.js": ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
         f"{PREFIX}/vendor/uPlot.min.css": ("vendor/uPlot.min.css", "text/css; charset=utf-8")}
THRESHOLDS = AnalysisThresholds()  # canary's defaults
WINDOW_SECONDS = 600.0  # `canary status`'s default --window: the verdict shown is the one it prints
NO_STORE = {"Cache-Control": "no-store"}

MSG_NOT_FOUND = "no dashboard resource at {path}; the page is " + PREFIX
MSG_METHOD = "{method} is not allowed on {path}; use GET"
MSG_FAILED = "the dashboard state could not be computed; see the local runtime's log"


def process_alive(pid: int) -> bool:
    """Unlike ``canary``'s check, our own pid counts as alive: the page never runs a rollout."""
    return run_state.process_alive(pid, count_self=True)


class Dashboard:
    """The page's state on demand. ``config_of`` returns the config the gateway serves now, and
    ``edit_of`` what became of the stack file's last version."""

    def __init__(self, metrics: VariantMetrics, config_of: Callable[[], StackConfig], stack_file: Path,
                 clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 edit_of: Callable[[], Edit | None] = lambda: None):
        self.metrics, self.config_of, self.stack_file, self.edit_of = metrics, config_of, stack_file, edit_of
        self._clock, self._monotonic = clock, monotonic
        self._rates = view.RateMeter()

    def state(self) -> dict[str, Any]:
        config, now = self.config_of(), self._clock()
        snapshot = self.metrics.snapshot(now - WINDOW_SECONDS)
        rates = self._rates.observe(view.sample_of(snapshot, self._monotonic())) or view.from_last_minute(snapshot, now)
        routing = config.routing
        names = list(config.model_names) + sorted(set(snapshot.variants) - set(config.model_names))
        window = {name: snapshot.stats(name) for name in names}
        run = self._run()
        verdict = None
        if routing.canary is not None and routing.canary.version in window and routing.live in window:
            verdict = judge(window[routing.live], window[routing.canary.version], THRESHOLDS)
        return {
            "time": now, "endpoint": config.endpoint.name, "stackFile": self.stack_file.name,
            "lastEdit": _edit_view(self.edit_of()), "routing": routes.to_json(routing),
            "versions": [{"name": name, **view.version_view(routing, name),
                          "recent": view.recent_view(rates.get(name)),
                          "latestMinute": view.latest_latency_ms(snapshot.periods(name), now),
                          "window": view.stats_view(window[name])} for name in names],
            "analysis": view.analysis_view(verdict, WINDOW_SECONDS),
            "thresholds": {"errorLimit": _error_limit(window.get(routing.live))},
            "run": view.run_view(run, process_alive),
            "chart": view.chart_view(snapshot, names, now),
            "marks": view.marks_view(run, now - view.CHART_MINUTES * 60),
        }

    def _run(self) -> run_state.RunState | None:
        """The recorded run; one the page cannot read shows as no run."""
        try:
            return run_state.load(run_state.path_for(self.stack_file))
        except run_state.RunStateError:
            return None


def _error_limit(live: VariantStats | None) -> float:
    """The 5xx rate the page marks: the judge's tolerance over live's rate, and never under the
    rate below which errors fail no candidate."""
    live_rate = live.rate_5xx if live is not None else 0.0
    return max(THRESHOLDS.min_error_rate, live_rate * THRESHOLDS.max_error_ratio)


def _edit_view(edit: Edit | None) -> dict[str, Any] | None:
    if edit is None:
        return None
    return {"mtimeNs": edit.mtime_ns, "size": edit.size, "applied": edit.applied, "message": edit.message}


def _load_pages() -> dict[str, Answer]:
    return {path: Answer(200, {"Content-Type": kind, **NO_STORE}, (STATIC / name).read_bytes())
            for path, (name, kind) in PAGES.items()}


def respond(dashboard: Dashboard, pages: dict[str, Answer], method: str, path: str) -> Answer:
    """The answer to one request under ``PREFIX``; every refusal is JSON."""
    if path not in pages and path != STATE_PATH:
        return json_answer(404, {"message": MSG_NOT_FOUND.format(path=path)}, NO_STORE)
    if method not in ("GET", "HEAD"):
        return json_answer(405, {"message": MSG_METHOD.format(method=method, path=path)},
                           {**NO_STORE, "Allow": "GET, HEAD"})
    if path in pages:
        return pages[path]
    try:
        return json_answer(200, dashboard.state(), NO_STORE)
    except Exception:  # a fault of ours: a generic 500, the details in our log
        LOG.exception("dashboard state failed")
        return json_answer(500, {"message": MSG_FAILED}, NO_STORE)


def with_dashboard(app: Callable[..., Any], dashboard: Dashboard) -> Callable[..., Any]:
    """``app`` (any ASGI app) with the page answered under ``PREFIX``; other paths go to ``app``."""
    pages = _load_pages()

    async def wrapped(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await app(scope, receive, send)
            return
        await send_answer(send, respond(dashboard, pages, scope["method"], path),
                          head_only=scope["method"] == "HEAD")

    return wrapped
