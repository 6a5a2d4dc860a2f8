"""HTTP /invocations on loopback, measured with wrk: latency p50/p99 and requests/s.

Target on a 2-core machine: >= 1,500 requests/s for 3-item requests.
Needs Debian's wrk. Run: .venv/bin/python bench/bench_server.py [--model-dir DIR] [--seconds N]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import body, model_dir, wrk

TARGET_RPS = 1500


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(folder: Path, port: int) -> subprocess.Popen:
    ratings = Path(sys.executable).with_name("ratings")
    server = subprocess.Popen([str(ratings), "serve", "--model-dir", str(folder), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("the model server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    port = _free_port()
    server = _start(model_dir(args.model_dir), port)
    try:
        print(f"{'items':>5}  {'requests/s':>10}  {'p50 ms':>7}  {'p99 ms':>7}  errors   (median of {args.runs} runs)")
        verdict = 0
        for items in (3, 100):
            url = f"http://127.0.0.1:{port}/invocations"
            runs = [wrk(url, args.seconds, args.connections, body(items)) for _ in range(args.runs)]
            median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            print(f"{items:>5}  {median['rps']:>10.0f}  {median['p50']:>7.2f}  {median['p99']:>7.2f}  "
                  f"{int(sum(run['errors'] for run in runs))}")
            if items == 3 and median["rps"] < TARGET_RPS:
                verdict = 1
        print(f"target: >= {TARGET_RPS} requests/s for 3 items -> {'ok' if verdict == 0 else 'UNDER'}")
        return verdict
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
