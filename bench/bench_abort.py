"""How fast a rollout stops sending its candidate traffic on the local stack.

Two ways a run stops a candidate, each timed to the candidate's last answer seen by clients that
keep calling the API (8 threads) throughout:
- `canary abort` during a bake: from the command's start;
- a failing verdict (the candidate answers half its requests with a model 500, through
  ``ratings:local.faults``; its other half names it, so its last answer is seen): from the time
  the run recorded the verdict.
Median (and worst) of --runs rollouts each. Target: 2 s for both.

What AWS adds: the rollback's first move is one UpdateStage call on the canary's share (a
control-plane call; "Amazon API Gateway quotas": 10 requests per second for the account's
unlisted management calls) and then the time API Gateway takes to apply a stage change to its
fleet, which AWS does not document; measure it on a live stage (`canary abort`, then the
timestamps of the access log's canary group, `<group>/Canary`).

Run: .venv/bin/python bench/bench_abort.py [--runs N] (trains v1 and v2 first if missing)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from bench_local import _project, _start
from common import ROOT

from core import run_state

TARGET_SECONDS = 2.0
CANARY = str(Path(sys.executable).with_name("canary"))


def _ensure_versions() -> None:
    ratings = Path(sys.executable).with_name("ratings")
    for version in ("v1", "v2"):
        if not (ROOT / "artifacts" / version / "metadata.json").exists():
            subprocess.run([str(ratings), "train", version, "--quiet"], check=True, cwd=ROOT)


class Load:
    """Clients calling the API until stopped, each answer kept as (epoch seconds, version)."""

    def __init__(self, url: str):
        self.url, self.answers, self.stop = url, [], threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(8)]

    def _client(self, offset: int) -> None:
        n = offset
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(f"{self.url}{n % 900 + 1}?items=5", timeout=5) as answer:
                    version = answer.headers.get("X-Model-Version", "")
            except urllib.error.HTTPError as error:  # an error answer names no version
                version = error.headers.get("X-Model-Version", "")
            except OSError:
                version = ""
            self.answers.append((time.time(), version))
            n += 8

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def last(self, version: str) -> float:
        return max((at for at, answered in self.answers if answered == version), default=0.0)


def _set_config(project: Path, key: str, value: object) -> None:
    path = project / "Pulumi.local.yaml"
    values = yaml.safe_load(path.read_text())
    if value is None:
        values["config"]["ratings:local"].pop(key, None)
    else:
        values["config"]["ratings:local"][key] = value
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    time.sleep(1.0)  # the gateway reads the file every quarter second


def _run(project: Path, failure_limit: int) -> subprocess.Popen:
    return subprocess.Popen([CANARY, "--project-dir", str(project), "run", "v2", "--no-quality", "--steps", "20",
                             "--bake", "10m", "--interval", "1s", "--failure-limit", str(failure_limit),
                             "--min-requests", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _record(project: Path) -> run_state.RunState | None:
    return run_state.load(project / "Pulumi.local.canary-run.json")


def _wait(condition, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("the run did not reach the expected state in time")
        time.sleep(0.05)


def abort_once(project: Path, load: Load) -> float:
    process = _run(project, failure_limit=1000)
    _wait(lambda: (r := _record(project)) is not None and r.status == "running" and len(r.verdicts) >= 1)
    started = time.time()
    subprocess.run([CANARY, "--project-dir", str(project), "abort"], check=True, capture_output=True)
    process.wait(timeout=120)
    time.sleep(3.0)  # answers in flight arrive
    return load.last("v2") - started


def verdict_once(project: Path, load: Load) -> float:
    _set_config(project, "faults", {"v2": {"errorRate": 0.5}})
    try:
        process = _run(project, failure_limit=0)
        process.wait(timeout=300)
        time.sleep(3.0)
        record = _record(project)
        failed = [v.time for v in record.verdicts if v.verdict.value == "fail"]
        return load.last("v2") - failed[0]
    finally:
        _set_config(project, "faults", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    _ensure_versions()
    project = _project()
    process, local = _start(project)
    figures: dict[str, list[float]] = {"abort": [], "failing_verdict": []}
    try:
        with Load(f"http://127.0.0.1:{local['gatewayPort']}/local/predicted-ratings/") as load:
            for _ in range(args.runs):
                figures["abort"].append(abort_once(project, load))
                figures["failing_verdict"].append(verdict_once(project, load))
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(project, ignore_errors=True)
    summary = {name: {"median_s": round(statistics.median(values), 3), "worst_s": round(max(values), 3),
                      "runs": [round(v, 3) for v in values]} for name, values in figures.items()}
    if args.json:
        print(json.dumps(summary, indent=2))
    for name, numbers in summary.items():
        verdict = "ok" if numbers["median_s"] <= TARGET_SECONDS else "MISSED"
        print(f"{name}: last candidate answer {numbers['median_s']:.2f} s after (median of {args.runs}, worst "
              f"{numbers['worst_s']:.2f} s); target {TARGET_SECONDS:g} s -> {verdict}", file=sys.stderr)
    return 0 if all(n["median_s"] <= TARGET_SECONDS for n in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
