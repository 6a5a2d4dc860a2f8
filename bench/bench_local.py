"""The full local path (gateway -> runtime -> model server) against the model server alone.

Same requests, same run, measured with wrk: p50/p99 latency unloaded (1 connection) and
throughput under load (16 connections), for 3- and 100-item requests.
Target on a 2-core machine: the gateway adds <= 2 ms at p50 for 3 items.
Run (needs Debian's wrk; trains v1/v2 first if missing): .venv/bin/python bench/bench_local.py
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, body, wrk

from components import stack_files

TARGET_ADDED_MS = 2.0


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    config = stack_files.load("local", ROOT)
    ratings = Path(sys.executable).with_name("ratings")
    log = tempfile.TemporaryFile()
    local = subprocess.Popen([str(ratings), "local", "up", "--project-dir", str(ROOT)], stdout=log, stderr=log)
    gateway = f"http://127.0.0.1:{config.local.gateway_port}/{config.api.stage_name}/predicted-ratings/321?items="
    for _ in range(1200):
        try:
            with urllib.request.urlopen(gateway + "1", timeout=1):
                break
        except OSError:
            time.sleep(0.25)
    else:
        local.kill()
        sys.exit("the local API did not start")
    direct = f"http://127.0.0.1:{config.local.model_port_base}/invocations"  # v1, the live version
    try:
        print(f"{'items':>5}  {'path':<14}{'p50 ms':>7}{'p99 ms':>8}  (1 conn)  {'req/s':>7}  (16 conns)  errors")
        verdict = 0
        for items in (3, 100):
            ids = ",".join(str(100 + n) for n in range(items))
            rows = {
                "model server": ([wrk(direct, args.seconds, 1, body(items)) for _ in range(args.runs)],
                                 [wrk(direct, args.seconds, 16, body(items)) for _ in range(args.runs)]),
                "via gateway": ([wrk(gateway + ids, args.seconds, 1) for _ in range(args.runs)],
                                [wrk(gateway + ids, args.seconds, 16) for _ in range(args.runs)]),
            }
            medians = {name: (_median(one), _median(many)) for name, (one, many) in rows.items()}
            for name, (one, many) in medians.items():
                errors = int(sum(r["errors"] for run in rows[name] for r in run))
                print(f"{items:>5}  {name:<14}{one['p50']:>7.2f}{one['p99']:>8.2f}            "
                      f"{many['rps']:>7.0f}              {errors}")
            added = medians["via gateway"][0]["p50"] - medians["model server"][0]["p50"]
            ratio = medians["model server"][1]["rps"] / medians["via gateway"][1]["rps"]
            print(f"{items:>5}  gateway adds {added:.2f} ms at p50; direct/gateway throughput ratio {ratio:.2f}")
            if items == 3 and added > TARGET_ADDED_MS:
                verdict = 1
        print(f"target: <= {TARGET_ADDED_MS} ms added at p50 for 3 items -> {'ok' if verdict == 0 else 'OVER'}")
        return verdict
    finally:
        local.send_signal(signal.SIGINT)
        local.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
