"""The full local path (gateway -> runtime -> model server) next to the model server alone.

Same requests, one run, measured with wrk: latency p50/p99 with 1 connection and throughput with
16 connections, at 3 and 100 items; the gateway's overhead is the difference between the two
paths. The two paths are measured in adjacent pairs (model server, then gateway, --runs times)
and each figure is the median over the pairs; the throughput share is the median of each pair's
ratio, so a machine whose speed drifts between runs (a shared VM's does, by a third) moves both
sides of a ratio together instead of one.
Targets on a 2-core machine: the gateway adds <= 1 ms at p50 and <= 3 ms at p99 for 3 items;
p99 through the gateway <= 10 ms for 100 items; >= 1,500 req/s through the gateway at 3 items,
and at least half the model server's own throughput there (gateway, runtime, model server and
wrk share the two cores, while the model server alone has one to itself).
The stack's throttle is lifted and any answer that is not 2xx fails the run, so throughput is
the API's answers only (a throttled 429 is not throughput).
Run (needs Debian's wrk; trains v1/v2 first if missing): .venv/bin/python bench/bench_local.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from common import ROOT, body, model_dir, wrk

TARGETS = {"added_p50_3": 1.0, "added_p99_3": 3.0, "gateway_p99_100": 10.0, "gateway_rps_3": 1500.0,
           "share_3": 0.5}
AT_LEAST = ("gateway_rps_3", "share_3")


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _free_ports(count: int) -> int:
    for base in range(21000, 31000, 10):
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    sys.exit("no free ports")


def _project() -> Path:
    """A throwaway project on free ports, serving this checkout's trained artifacts."""
    model_dir(None)
    folder = Path(tempfile.mkdtemp(prefix="bench-local-"))
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    base = _free_ports(4)
    values["config"]["ratings:routing"] = {"live": "v1"}
    # the stack's throttle (2,000 req/s) would answer most of a 16-connection run with 429s, which
    # wrk counts as throughput: lifted, so every answer measured is the API's own
    values["config"]["ratings:api"]["throttle"] = {"rateLimit": 1_000_000, "burstLimit": 1_000_000}
    values["config"]["ratings:local"] = {"artifacts": str(ROOT / "artifacts"), "gatewayPort": base,
                                         "runtimePort": base + 1, "modelPortBase": base + 2}
    (folder / "Pulumi.local.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    return folder


def _start(project: Path) -> tuple[subprocess.Popen, dict]:
    local = yaml.safe_load((project / "Pulumi.local.yaml").read_text())["config"]["ratings:local"]
    ratings = Path(sys.executable).with_name("ratings")
    process = subprocess.Popen([str(ratings), "local", "up", "--project-dir", str(project)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    gateway = f"http://127.0.0.1:{local['gatewayPort']}/local/predicted-ratings/321?items="
    for _ in range(2400):
        try:
            with urllib.request.urlopen(gateway + "1", timeout=1):
                return process, local
        except OSError:
            time.sleep(0.25)
    process.kill()
    sys.exit("the local API did not start")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _model_pid(parent: int, port: int) -> int:
    """The model server child of the local API that listens on ``port`` (``ratings serve --port N``)."""
    needle = b"--port\x00" + str(port).encode() + b"\x00"
    for entry in Path("/proc").iterdir():
        try:
            parent_of = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent_of == parent and needle in entry.joinpath("cmdline").read_bytes():
                return int(entry.name)
        except (OSError, ValueError, IndexError):
            continue  # not a process, or one that ended meanwhile
    sys.exit(f"no model server on port {port} under process {parent}")


def _loaded(url: str, seconds: int, payload: bytes | None, pids: dict[str, int]) -> dict[str, float]:
    """One 16-connection run, with the CPU each process spent per request answered in it."""
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    run = wrk(url, seconds, 16, payload)
    answered = max(run["rps"] * seconds, 1.0)
    return run | {f"cpu_us_{name}": (_cpu_seconds(pid) - before[name]) / answered * 1e6 for name, pid in pids.items()}


def _measure(paths: dict[str, tuple[str, bytes | None]], seconds: int, runs: int,
             pids: dict[str, int]) -> tuple[dict, int]:
    """Each path's median latency (1 connection) and throughput (16 connections), every path run
    once per round so neighbouring runs see the same machine; the errors of all runs."""
    one: dict[str, list] = {name: [] for name in paths}
    many: dict[str, list] = {name: [] for name in paths}
    for _ in range(runs):
        for name, (url, payload) in paths.items():
            one[name].append(wrk(url, seconds, 1, payload))
    for _ in range(runs):
        for name, (url, payload) in paths.items():
            many[name].append(_loaded(url, seconds, payload, pids))
    errors = sum(run["errors"] for results in (one, many) for runs_of in results.values() for run in runs_of)
    alone, through = many["model server"], many["via gateway"]
    figures = {name: (_median(one[name]), _median(many[name])) for name in paths}
    figures["share"] = statistics.median(g["rps"] / max(m["rps"], 1.0) for m, g in zip(alone, through, strict=True))
    return figures, int(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    project = _project()
    process, local = _start(project)
    gateway = f"http://127.0.0.1:{local['gatewayPort']}/local/predicted-ratings/321?items="
    direct = f"http://127.0.0.1:{local['modelPortBase']}/invocations"  # v1, the live version
    pids = {"gateway": process.pid, "model": _model_pid(process.pid, local["modelPortBase"])}
    figures: dict[str, float] = {}
    failed = 0
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
              f"median of {args.runs} x {args.seconds} s")
        print(f"{'items':>5}  {'path':<14}{'p50 ms':>7}{'p99 ms':>8}  (1 conn)  {'req/s':>7}  (16 conns)")
        for items in (3, 100):
            ids = ",".join(str(100 + n) for n in range(items))
            rows, errors = _measure({"model server": (direct, body(items)), "via gateway": (gateway + ids, None)},
                                    args.seconds, args.runs, pids)
            failed += errors
            share = rows.pop("share")
            for name, (one, many) in rows.items():
                print(f"{items:>5}  {name:<14}{one['p50']:>7.2f}{one['p99']:>8.2f}            "
                      f"{many['rps']:>7.0f}")
            (alone, alone_loaded), (through, loaded) = rows["model server"], rows["via gateway"]
            figures |= {f"added_p50_{items}": through["p50"] - alone["p50"],
                        f"added_p99_{items}": through["p99"] - alone["p99"],
                        f"gateway_p99_{items}": through["p99"], f"gateway_rps_{items}": loaded["rps"],
                        f"share_{items}": share}
            print(f"{items:>5}  CPU per request (16 conns): model server alone {alone_loaded['cpu_us_model']:.0f} us;"
                  f" via gateway: gateway {loaded['cpu_us_gateway']:.0f} us + model server "
                  f"{loaded['cpu_us_model']:.0f} us")
            print(f"{items:>5}  gateway adds {figures[f'added_p50_{items}']:.2f} ms at p50, "
                  f"{figures[f'added_p99_{items}']:.2f} ms at p99; its throughput is {share:.0%} of the "
                  f"model server's alone (median of {args.runs} adjacent pairs)")
        print(f"answers that were not 2xx: {failed}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        shutil.rmtree(project, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    misses = [] if not failed else ["non_2xx"]
    if failed:
        print(f"{failed} answers were not 2xx: throughput counts only the API's answers -> MISSED")
    for key, target in TARGETS.items():
        ok = figures[key] >= target if key in AT_LEAST else figures[key] <= target
        print(f"target {key}: {figures[key]:.2f} vs {target:g} -> {'ok' if ok else 'MISSED'}")
        misses += [] if ok else [key]
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
