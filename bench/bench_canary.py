"""How fast `canary` reacts: a stack-file rewrite, and an automated run's abort.

Targets on a 2-core machine (medians): a `set` rewrite with its diff <= 50 ms; a candidate
failing from its first measurement is rolled back (stack file rewritten) <= interval + 0.5 s
after its weight was set. The metrics are a stand-in that always fails the candidate, so this
measures canary's own overhead, not the local runtime's.
Run: .venv/bin/python bench/bench_canary.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from canary import plan, service
from canary.analysis import VariantStats
from canary.stacks import for_stack
from components import config as stack_config

ROOT = Path(__file__).resolve().parent.parent
INTERVAL = 0.5
REWRITE_TARGET_MS = 50.0


class FailingCandidate:
    """Every read sees 200 more requests per version, all of the candidate's failing."""

    def __init__(self):
        self.reads = 0

    def variant_stats(self, endpoint, variant, window_seconds):
        self.reads += 1
        return VariantStats(200 * self.reads, 0, 0 if variant == "v1" else 200 * self.reads, 5.0)


def _project() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-canary-"))
    shutil.copy(ROOT / "Pulumi.local.yaml", folder)
    return folder


def rewrite_ms(rounds: int) -> float:
    stack = for_stack("local", _project())
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        values = stack.read()
        config = stack_config.parse(values)
        stack.diff(plan.written(values, config, plan.set_percent(config, 20)).after)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def abort_seconds(rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        stack = for_stack("local", _project())
        metrics = FailingCandidate()
        c = service.Collaborators(stack, lambda config: metrics, say=lambda line: None)
        service.rollback(c, dry_run=False)
        request = service.RunRequest("v2", [20], 60.0, INTERVAL, 0, 60.0, False, {})
        final = service.run(c, service.prepare_run(c, request))
        samples.append(final.updated_at - final.step_times[0][0])
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    rewrite = rewrite_ms(rounds)
    abort = abort_seconds(max(3, rounds // 4))
    print(f"set rewrite + diff: median {rewrite:.1f} ms (target <= {REWRITE_TARGET_MS:g} ms)")
    print(f"abort after weight set: median {abort:.2f} s at interval {INTERVAL:g} s "
          f"(target <= {INTERVAL + 0.5:g} s)")


if __name__ == "__main__":
    main()
