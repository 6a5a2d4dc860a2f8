"""Render time of vtl/request.vtl (parsed once) for 3 and 100 items.

Targets on a 2-core machine: median <= 150 us for 3 items and <= 1.5 ms for 100 items.
Run: .venv/bin/python bench/bench_vtl.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.vtl import MappingTemplate, RequestData  # noqa: E402

TARGETS_US = {3: 150.0, 100: 1500.0}


def _request(items: int) -> RequestData:
    ids = ",".join(str(100 + n) for n in range(items))
    return RequestData(path={"user_id": "321"}, querystring={"items": ids},
                       stage_variables={"variant": "v1", "maxItems": "100"})


def measure(template: MappingTemplate, request: RequestData, rounds: int, batch: int) -> list[float]:
    """Per-render time in microseconds, one sample per batch of renders."""
    template.render(request)  # warm caches (regexes, JSONPath)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            template.render(request)
        samples.append((time.perf_counter() - start) / batch * 1e6)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    template = MappingTemplate.from_file(ROOT / "vtl" / "request.vtl")
    print(f"{'items':>5}  {'median us':>10}  {'p10 us':>8}  {'p90 us':>8}  {'target us':>9}  verdict")
    failed = False
    for items, target in TARGETS_US.items():
        samples = sorted(measure(template, _request(items), args.rounds, batch=200 if items == 3 else 50))
        median = statistics.median(samples)
        p10, p90 = samples[len(samples) // 10], samples[len(samples) * 9 // 10]
        verdict = "ok" if median <= target else "OVER"
        failed |= median > target
        print(f"{items:>5}  {median:>10.1f}  {p10:>8.1f}  {p90:>8.1f}  {target:>9.0f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
