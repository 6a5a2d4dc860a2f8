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
from dataclasses import dataclass
from pathlib import Path

from canary import service
from canary.backends import LocalBackend
from canary.stacks import LocalStack
from core import plans
from core.metrics import VariantStats

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


@dataclass
class Backend(LocalBackend):
    """The local stack, with the stand-in metrics."""

    source: FailingCandidate | None = None

    def metrics(self, config):
        return self.source

    def served(self, config):
        return None


class Quiet:
    def say(self, line: str) -> None:
        pass

    def confirm(self, question: str) -> bool:
        return False


def _project() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-canary-"))
    shutil.copy(ROOT / "Pulumi.local.yaml", folder)
    return folder


def rewrite_ms(rounds: int) -> float:
    stack = LocalStack("local", _project())
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        document = stack.read()
        assert plans.written(document, plans.set_percent(document.config, 20)).diff
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def abort_seconds(rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        c = service.Collaborators(Backend(LocalStack("local", _project()), FailingCandidate()), Quiet())
        service.rollback(c, dry_run=False)
        # no quality gate (`--no-quality`): it asks a running local API, and this measures what follows the weight
        request = service.RunRequest("v2", [20], 60.0, INTERVAL, 0, 60.0, False, {},
                                     quality=service.QualityAsk(enabled=False))
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
