"""The local dashboard: its state from the runtime's metrics and the canary analysis, its answers
over HTTP, and the page itself in a real headless browser while traffic flows."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from canary.metrics_sources import LocalRuntime
from core import config as stack_config
from core import run_state
from core.analysis import Verdict, judge
from core.thresholds import AnalysisThresholds
from emulator import dashboard
from emulator import dashboard_view as view
from emulator.metrics import VariantMetrics
from tests import browser
from tests.local_harness import PATH, RunningApi, model_app
from tests.stacks import ROOT, example, with_change

ENDPOINT = "ratings-local"
TRAFFIC_LIMIT_S = 90
WAIT_LIMIT_S = 30
PAGE_LIFE_MS = 4000  # virtual time each page load runs before its DOM is read: about four polls
# dist/uPlot.iife.min.js of `npm pack uplot@1.6.32`, as emulator/static/vendor/README.md records it
UPLOT_SHA256 = "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f"
SCREENSHOT = "local-dashboard.png"
SCREENSHOT_SIZE = (1280, 1120)  # the cards, the table and the charts
# RATINGS_SCREENSHOT_DIR=docs refreshes the README's screenshot (a relative folder is under the project)
SCREENSHOT_DIR_VARIABLE = "RATINGS_SCREENSHOT_DIR"


class Clock:
    def __init__(self, now: float = 6000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _dashboard(tmp_path: Path, routing: dict, clock: Clock) -> tuple[dashboard.Dashboard, VariantMetrics]:
    stack_file = tmp_path / "Pulumi.local.yaml"
    config = stack_config.parse(with_change(example("local"), "ratings:routing", routing))
    metrics = VariantMetrics(ENDPOINT, clock=clock)
    return dashboard.Dashboard(metrics, lambda: config, stack_file, clock=clock, monotonic=clock), metrics


def _record(metrics: VariantMetrics, variant: str, requests: int, errors_5xx: int = 0, latency_us: float = 3000.0):
    for n in range(requests):
        metrics.record(variant, 500 if n < errors_5xx else 200, latency_us)


CANARY = {"live": "v1", "canary": {"version": "v2", "percent": 30}}
VERDICTS = [
    # (live requests, candidate requests, candidate 5xx, candidate latency µs) -> verdict, first reason
    ((200, 200, 0, 3000.0), "pass", "candidate within every threshold"),
    ((200, 200, 20, 3000.0), "fail", "candidate 5xx rate 10.00% (20 of 200) is over 1.5x live's 0.00% (0 of 200)"),
    ((200, 200, 0, 90_000.0), "fail", "candidate slower: 100.0% of its requests (200 of 200) over 20.0 ms"),
    ((200, 50, 0, 3000.0), "inconclusive", "only 50 candidate requests, 100 needed"),
]


@pytest.mark.parametrize(("traffic", "verdict", "reason"), VERDICTS)
def test_the_verdict_is_the_canary_analysis_of_the_runtimes_metrics(tmp_path, traffic, verdict, reason):
    live, candidate, errors, latency = traffic
    page, metrics = _dashboard(tmp_path, CANARY, Clock())
    _record(metrics, "v1", live)
    _record(metrics, "v2", candidate, errors, latency)
    state = page.state()
    assert state["analysis"]["verdict"] == verdict and state["analysis"]["reasons"][0].startswith(reason)
    shown = {v["name"]: v for v in state["versions"]}
    assert shown["v2"]["window"]["requests"] == candidate and shown["v1"]["window"]["requests"] == live
    assert shown["v2"]["window"]["rate5xx"] == pytest.approx(errors / candidate)
    # the analysis canary applies, over the same snapshot as `canary status` reads it (GET /metrics)
    served = metrics.snapshot(Clock()() - dashboard.WINDOW_SECONDS)
    expected = judge(served.stats("v1"), served.stats("v2"), AnalysisThresholds())
    assert (state["analysis"]["verdict"], state["analysis"]["reasons"]) == (expected.verdict.value, expected.reasons)


def test_without_a_candidate_there_is_no_verdict_and_every_version_is_listed(tmp_path):
    page, metrics = _dashboard(tmp_path, {"live": "v2", "previous": "v1"}, Clock())
    _record(metrics, "v2", 5)
    state = page.state()
    assert state["analysis"] is None and state["run"] is None
    assert state["routing"] == {"live": "v2", "previous": "v1", "canary": None}, "as `canary status --json` shows it"
    assert [(v["name"], v["role"], v["share"]) for v in state["versions"]] == [("v1", "previous", 0.0),
                                                                             ("v2", "live", 100.0)]


def test_request_rate_is_measured_between_polls(tmp_path):
    clock = Clock()
    page, metrics = _dashboard(tmp_path, CANARY, clock)
    assert all(v["recent"]["perSecond"] is None for v in page.state()["versions"])  # a single poll has no rate
    clock.now += 2
    _record(metrics, "v1", 30)
    _record(metrics, "v2", 10, errors_5xx=1)
    recent = {v["name"]: v["recent"] for v in page.state()["versions"]}
    assert recent == {"v1": {"perSecond": 15.0, "rate4xx": 0.0, "rate5xx": 0.0},
                      "v2": {"perSecond": 5.0, "rate4xx": 0.0, "rate5xx": 0.1}}


def test_the_first_poll_shows_the_last_whole_minutes_rate(tmp_path):
    """A page opened on a busy API shows its req/s at once, from the last whole minute, rather than
    "-" until its second poll."""
    clock = Clock(5950.0)  # in the minute 5940-6000
    page, metrics = _dashboard(tmp_path, CANARY, clock)
    _record(metrics, "v1", 120)
    _record(metrics, "v2", 30, errors_5xx=3)
    clock.now = 6010.0  # the next minute: 5940 is the last whole one
    recent = {v["name"]: v["recent"] for v in page.state()["versions"]}
    assert recent == {"v1": {"perSecond": 2.0, "rate4xx": 0.0, "rate5xx": 0.0},
                      "v2": {"perSecond": 0.5, "rate4xx": 0.0, "rate5xx": 0.1}}


@pytest.mark.parametrize(("status", "shown"), [(run_state.RunStatus.RUNNING, True),
                                              (run_state.RunStatus.PROMOTED, False),
                                              (run_state.RunStatus.ROLLED_BACK, False)])
def test_a_run_state_written_by_canary_beside_the_stack_file_shows_its_step(tmp_path, status, shown):
    page, _ = _dashboard(tmp_path, CANARY, Clock())
    recorded = run_state.RunState.planned(stack="local", version="v2", weights=[10, 30, 60], bake_seconds=600,
                                          interval_seconds=60, failure_limit=2, window_seconds=600, sticky=False,
                                          thresholds=AnalysisThresholds())
    recorded.position, recorded.phase, recorded.status, recorded.pid = 4, run_state.Phase.BAKING, status, os.getpid()
    recorded.verdicts = [run_state.VerdictRecord(1.0, 0, 10, run_state.VerdictKind.GATE, Verdict.PASS, [])]
    run_state.save(run_state.path_for(page.stack_file), recorded)  # canary's own writer and file name
    expected = {"version": "v2", "step": 2, "steps": 3, "weight": 30.0, "weights": [10.0, 30.0, 60.0],
                "phase": "baking", "failures": 0, "failureLimit": 2,
                "lastVerdict": {"verdict": "pass", "kind": "gate"}, "processAlive": True}
    assert page.state()["run"] == (expected if shown else None)
    run_state.path_for(page.stack_file).write_bytes(b"\xff\xfe not text")
    assert page.state()["run"] is None


PAGES = dashboard._load_pages()
ANSWERS = [
    ("GET", "/dashboard", 200, "text/html; charset=utf-8", None),
    ("GET", "/dashboard/", 200, "text/html; charset=utf-8", None),
    ("GET", "/dashboard/dashboard.js", 200, "text/javascript; charset=utf-8", None),
    ("GET", "/dashboard/dashboard.css", 200, "text/css; charset=utf-8", None),
    ("GET", "/dashboard/vendor/uPlot.iife.min.js", 200, "text/javascript; charset=utf-8", None),
    ("GET", "/dashboard/state.json", 200, "application/json", None),
    ("GET", "/dashboard/secrets", 404, "application/json",
     "no dashboard resource at /dashboard/secrets; the page is /dashboard"),
    ("GET", "/dashboard/../metrics", 404, "application/json",
     "no dashboard resource at /dashboard/../metrics; the page is /dashboard"),
    ("POST", "/dashboard/state.json", 405, "application/json", "POST is not allowed on /dashboard/state.json; use GET"),
    ("DELETE", "/dashboard", 405, "application/json", "DELETE is not allowed on /dashboard; use GET"),
]


def test_the_time_series_are_per_minute_rates_and_a_quiet_minute_is_a_gap(tmp_path):
    clock = Clock(now=6000.0 + 30)  # 30 s into the minute that starts at 6000
    page, metrics = _dashboard(tmp_path, CANARY, clock)
    clock.now = 5880.0 + 10  # two minutes earlier: v1 120 requests, 6 of them 5xx
    _record(metrics, "v1", 120, errors_5xx=6, latency_us=4000.0)
    clock.now = 6030.0  # now: v1 60 requests in the current minute's 30 s
    _record(metrics, "v1", 60)
    chart = page.state()["chart"]
    assert chart["minutes"] == [6000 - 60 * back for back in reversed(range(view.CHART_MINUTES))]
    v1, v2 = chart["versions"]["v1"], chart["versions"]["v2"]
    assert v1["perSecond"][-3:] == [2.0, 0.0, 2.0], "the current minute's rate is over its 30 s so far"
    assert v1["rate5xx"][-3:] == [0.05, None, 0.0] and v1["p99Ms"][-2] is None
    assert v1["p99Ms"][-3] == pytest.approx(4.0, rel=0.2)
    assert v2 == {"perSecond": [0.0] * 10, "rate5xx": [None] * 10, "p99Ms": [None] * 10}


def test_a_recorded_runs_steps_and_end_are_the_charts_marks():
    run = _running()
    run.step_times = [[100.0, 10.0], [700.0, 30.0]]
    assert view.marks_view(run, since=500.0) == [{"time": 700.0, "label": "v2 30 %"}]
    run.status, run.updated_at = run_state.RunStatus.ROLLED_BACK, 800.0
    assert view.marks_view(run, since=0.0)[-1] == {"time": 800.0, "label": "v2 rolled back"}
    assert view.marks_view(None, since=0.0) == []


@pytest.mark.parametrize(("method", "path", "status", "kind", "message"), ANSWERS)
def test_answers_under_the_prefix(tmp_path, method, path, status, kind, message):
    page, _ = _dashboard(tmp_path, CANARY, Clock())
    answer = dashboard.respond(page, PAGES, method, path)
    assert (answer.status, answer.headers["Content-Type"]) == (status, kind)
    assert answer.headers["Cache-Control"] == "no-store"
    if message:
        assert json.loads(answer.body)["message"] == message


def test_a_failure_computing_the_state_is_a_generic_json_500(tmp_path):
    page, _ = _dashboard(tmp_path, CANARY, Clock())
    page.config_of = lambda: (_ for _ in ()).throw(RuntimeError("internal detail"))
    answer = dashboard.respond(page, PAGES, "GET", dashboard.STATE_PATH)
    assert (answer.status, json.loads(answer.body)) == (500, {"message": dashboard.MSG_FAILED})


# --- over HTTP and in the browser, against the local runtime on free ports -------------------------------------


def _flaky_model():
    """Every 4th invocation fails with a 500: a 25 % 5xx rate against live's none is evidence the
    judge acts on within the first 60 candidate requests (5 % would need a few hundred)."""
    count = iter(range(10**9))
    return model_app(lambda body: (500, b'{"message": "boom"}') if next(count) % 4 == 3 else None)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    running = RunningApi(tmp_path_factory.mktemp("dashboard"), {"v1": model_app(), "v2": _flaky_model()},
                         routing={"live": "v1", "canary": {"version": "v2", "percent": 30, "mode": "request"}})
    yield running
    running.stop()


def _url(api: RunningApi, path: str = dashboard.PREFIX) -> str:
    return f"http://127.0.0.1:{api.runtime_port}{path}"


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers["content-type"], answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read()


def _state(api: RunningApi) -> dict:
    status, _, body = _get(_url(api, dashboard.STATE_PATH))
    assert status == 200, body
    return json.loads(body)


def _window_requests(state: dict) -> dict[str, int]:
    return {v["name"]: v["window"]["requests"] for v in state["versions"]}


def _wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"within {WAIT_LIMIT_S} s: {what}")


class Traffic:
    """Requests to the API from a background thread until the block ends (at most TRAFFIC_LIMIT_S)."""

    def __init__(self, api: RunningApi):
        self.api, self.answers = api, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline, user = time.monotonic() + TRAFFIC_LIMIT_S, 0
        connection = self.api.connection()
        while not self._stop.is_set() and time.monotonic() < deadline:
            user = user % 900 + 1
            try:
                connection.request("GET", f"{PATH}/{user}?items=101,131")
                connection.getresponse().read()
                self.answers += 1
            except OSError:
                connection.close()
                connection = self.api.connection()
            self._stop.wait(0.004)  # about 200 requests a second: enough to move, little CPU
        connection.close()

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def test_the_page_loads_only_what_the_runtime_serves(api):
    status, kind, html = _get(_url(api))
    assert (status, kind) == (200, "text/html; charset=utf-8")

    class Links(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.found += [value for name, value in attrs if name in ("src", "href")]

    links = Links()
    links.feed(html.decode())
    assert sorted(links.found) == ["/dashboard/dashboard.css", "/dashboard/dashboard.js",
                                   "/dashboard/vendor/uPlot.iife.min.js", "/dashboard/vendor/uPlot.min.css"]
    assert all(_get(_url(api, link))[0] == 200 for link in links.found)
    vendored = _get(_url(api, "/dashboard/vendor/uPlot.iife.min.js"))[2]
    assert hashlib.sha256(vendored).hexdigest() == UPLOT_SHA256, "the file emulator/static/vendor/README.md names"
    assert "/dashboard/state.json" in _get(_url(api, "/dashboard/dashboard.js"))[2].decode()


def test_the_state_reads_the_metrics_canary_status_reads(api):
    with Traffic(api):
        _wait_for(lambda: min(_window_requests(_state(api)).values()) >= 20, "traffic to both versions")
    state = _state(api)
    over_http = LocalRuntime(f"http://127.0.0.1:{api.runtime_port}")
    for version in state["versions"]:
        stats = over_http.variant_stats(ENDPOINT, version["name"], dashboard.WINDOW_SECONDS)
        assert version["window"]["requests"] == stats.requests, version["name"]
        assert version["window"]["rate5xx"] == pytest.approx(stats.rate_5xx), version["name"]
        assert version["window"]["p99Ms"] == pytest.approx(stats.latency_p99_ms), version["name"]


class PageReading(HTMLParser):
    """The dumped DOM as data: fields by (card, name), table rows by version, hidden cards."""

    def __init__(self, html: str):
        super().__init__()
        self.fields: dict[tuple[str, str], str] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self.hidden: set[str] = set()
        self.checks: dict[str, dict[str, str]] = {}  # the analysis's evidence, by metric
        self.verdict = ""
        self.charts: dict[str, list[str]] = {}  # the series uPlot's legend names, by chart (the x axis first)
        self._card = self._row = self._check = self._chart = None
        self._label: list[str] | None = None
        self._capture: list[tuple[str, str, list[str]]] = []
        self.feed(html)
        self.charts = {name: labels[1:] for name, labels in self.charts.items()}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "figure" and "data-chart" in attributes:
            self._chart = attributes["data-chart"]
            self.charts[self._chart] = []
        if self._chart and "u-label" in (attributes.get("class") or "").split():
            self._label = []
        if tag == "article":
            self._card = attributes.get("id")
            if "hidden" in attributes:
                self.hidden.add(self._card)
        if tag == "tr" and "data-metric" in attributes:
            self._check = attributes["data-metric"]
            self.checks[self._check] = {"failed": attributes.get("data-failed", "")}
        if tag == "tr" and "data-version" in attributes:
            self._row = attributes["data-version"]
            self.rows[self._row] = {"role": attributes.get("data-role", "")}
        if "data-verdict" in attributes:
            self.verdict = attributes["data-verdict"]
        if tag == "polyline" and self._row:
            self.rows[self._row]["trendPoints"] = len(attributes.get("points", "").split())
        if "data-field" in attributes:
            self._capture.append((tag, attributes["data-field"], []))

    def handle_data(self, data):
        for _, _, parts in self._capture:
            parts.append(data)
        if self._label is not None:
            self._label.append(data)

    def handle_endtag(self, tag):
        if self._label is not None and tag == "div":
            self.charts[self._chart].append("".join(self._label).strip())
            self._label = None
        if tag == "figure":
            self._chart = None
        if tag == "article":
            self._card = None
        if self._capture and self._capture[-1][0] == tag:
            _, name, parts = self._capture.pop()
            text = "".join(parts).strip()
            if tag == "td" and self._row:
                self.rows[self._row][name] = text
            elif tag == "td" and self._check:
                self.checks[self._check][name] = text
            else:
                self.fields[(self._card, name)] = text
        if tag == "tr":
            self._row = self._check = None


def _number(text: str) -> float:
    return float(text.split()[0])


@pytest.fixture(scope="module")
def chromium():
    try:
        return browser.find_or_install()
    except browser.NoBrowser as error:
        pytest.skip(str(error))


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _running() -> run_state.RunState:
    """A run of v2 in its second step (10 %, 30 %, 60 %), recorded by this process."""
    run = run_state.RunState.planned(stack="local", version="v2", weights=[10, 30, 60], bake_seconds=600,
                                     interval_seconds=60, failure_limit=2, window_seconds=600, sticky=False,
                                     thresholds=AnalysisThresholds())
    run.position, run.phase, run.pid = 4, run_state.Phase.BAKING, os.getpid()
    run.verdicts = [run_state.VerdictRecord(0.0, 0, 10, run_state.VerdictKind.GATE, Verdict.PASS, [])]
    run.step_times = [[time.time() - 120, 10.0], [time.time() - 30, 30.0]]
    return run


def test_in_a_browser_the_page_shows_both_versions_and_its_numbers_move(api, chromium, tmp_path):
    shots = ROOT / os.environ[SCREENSHOT_DIR_VARIABLE] if os.environ.get(SCREENSHOT_DIR_VARIABLE) else tmp_path
    run_file = run_state.path_for(api.stack_file)
    try:
        with Traffic(api):
            before = _window_requests(_state(api))
            _wait_for(lambda: all(n >= before[v] + 60 for v, n in _window_requests(_state(api)).items()),
                      "60 more requests to each version")
            first = PageReading(browser.dump_dom(chromium, _url(api), budget_ms=PAGE_LIFE_MS))
            run_state.save(run_file, _running())  # as `canary run` records its progress
            _wait_for(lambda: all(n > int(first.rows[v]["requests"]) for v, n in _window_requests(_state(api)).items()),
                      "more requests than the page showed")
            second = PageReading(browser.dump_dom(chromium, _url(api), budget_ms=PAGE_LIFE_MS))
            shot = browser.screenshot(chromium, _url(api), shots / SCREENSHOT, size=SCREENSHOT_SIZE)
    finally:
        run_file.unlink(missing_ok=True)

    for page in (first, second):
        assert {v: row["role"] for v, row in page.rows.items()} == {"v1": "live", "v2": "candidate"}
        assert [page.fields[("routing", f)] for f in ("live", "candidate", "share", "mode")] == \
               ["v1", "v2", "30 %", "request"]
        assert all(_number(row["perSecond"]) > 0 for row in page.rows.values()), page.rows
        assert all(_number(row["p99"]) > 0 for row in page.rows.values()), page.rows
        # the trend: requests per second in each of the last ten minutes, from the first poll on
        assert all(row["trendPoints"] == view.CHART_MINUTES for row in page.rows.values()), page.rows
        # the time series: one uPlot chart per metric, a series per version
        assert page.charts == {name: ["v1", "v2"] for name in ("perSecond", "rate5xx", "p99Ms")}, page.charts
        # the flaky candidate fails 1 in 4: the analysis fails it on its 5xx rate
        assert page.verdict == "fail" and "candidate 5xx rate" in page.fields[("analysis", "reasons")]
        # with its evidence: both versions' rates, the threshold, the statistic against its bound
        errors = page.checks["5xx rate"]
        assert errors["failed"] == "true" and errors["live"].startswith("0.00% (0 of ")
        assert errors["threshold"].startswith("at most 1.5x live's") and "of 100 needed" in errors["evidence"]
        latency = [metric for metric in page.checks if metric.startswith("requests over ")]
        assert len(latency) == 1 and set(page.checks) == {"5xx rate", "requests", *latency}, \
            "locally, latency is judged by the share of requests over live's p95 (or the floor)"
    for version in ("v1", "v2"):
        assert int(second.rows[version]["requests"]) > int(first.rows[version]["requests"]), version
    assert "run" in first.hidden, "no canary run in progress: no run shown"
    assert "run" not in second.hidden and second.fields[("run", "summary")] == "v2: step 2/3 at 30 %, baking"
    assert first.fields[(None, "marks")] == "" and second.fields[(None, "marks")].startswith("v2 10 % at "), \
        "the run's steps are marked on the charts and listed under them"
    assert _png_size(shot) == SCREENSHOT_SIZE
