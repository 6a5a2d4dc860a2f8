"""Time to compute the local dashboard's state once (it runs on the runtime's event loop, once a
second per open page), with a full analysis window of metrics for every version.

Target on a 2-core machine: <= 5 ms median for four versions with ten busy minutes each.
Run: .venv/bin/python bench/bench_dashboard.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

from core import stack_file
from core.metrics import PERIOD_SECONDS
from emulator.dashboard import WINDOW_SECONDS, Dashboard
from emulator.metrics import VariantMetrics

TARGET_MS = 5.0
ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("v1", "v2", "v3", "v4")


def _filled(now: float) -> VariantMetrics:
    """Ten minutes of 3,000 invocations a minute per version, log-normal latencies around 3 ms."""
    clock = [now - WINDOW_SECONDS]
    metrics = VariantMetrics("ratings-local", clock=lambda: clock[0])
    draw = random.Random(1)
    for minute in range(int(WINDOW_SECONDS // PERIOD_SECONDS) + 1):
        clock[0] = now - WINDOW_SECONDS + minute * PERIOD_SECONDS
        for version in VERSIONS:
            for n in range(3000):
                metrics.record(version, 500 if n % 97 == 0 else 200, draw.lognormvariate(8.0, 0.8))
    return metrics


def main() -> int:
    now = time.time()
    config = stack_file.read(ROOT / "Pulumi.local.yaml").config
    page = Dashboard(_filled(now), lambda: config, ROOT / "Pulumi.local.yaml", clock=lambda: now)
    page.state()
    samples = []
    for _ in range(200):
        start = time.perf_counter()
        page.state()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    median = statistics.median(samples)
    print(f"dashboard state, {len(VERSIONS)} versions x {int(WINDOW_SECONDS // 60)} min: median {median:.2f} ms, "
          f"p90 {samples[int(len(samples) * 0.9)]:.2f} ms (target <= {TARGET_MS:g} ms)")
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
