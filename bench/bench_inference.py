"""In-process inference time for one request: predict alone and the whole handler.

Target on a 2-core machine: predict for 100 items <= 100 us (median).
Run: .venv/bin/python bench/bench_inference.py [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from common import body, model_dir

from training import inference

TARGET_US = 100.0


def _median_us(function, rounds: int = 40, batch: int = 500) -> tuple[float, float]:
    function()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            function()
        samples.append((time.perf_counter() - start) / batch * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def _steps(model: inference.Model, payload: bytes) -> dict[str, Callable[[], object]]:
    """The timed calls for one request body, each bound to that body (not to a loop variable)."""
    pairs = inference.input_fn(payload, inference.JSON)
    users, item_ids = [u for u, _ in pairs], [i for _, i in pairs]
    return {
        "predict (model.predict)": lambda: model.predict(users, item_ids),
        "handler (input+predict+output)": lambda: inference.output_fn(
            inference.predict_fn(inference.input_fn(payload, inference.JSON), model), inference.JSON),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir")
    args = parser.parse_args()
    model = inference.model_fn(str(model_dir(args.model_dir)))
    print(f"model {model.version}: {len(model.user_ids)} users, {len(model.item_ids)} items, "
          f"rank {model.user_factors.shape[1]}")
    print(f"{'items':>5}  {'step':<32}{'median us':>10}  {'p90 us':>8}")
    verdict = 0
    for items in (3, 100):
        for name, step in _steps(model, body(items)).items():
            median, p90 = _median_us(step)
            print(f"{items:>5}  {name:<32}{median:>10.1f}  {p90:>8.1f}")
            if items == 100 and name.startswith("predict") and median > TARGET_US:
                verdict = 1
    print(f"target: predict for 100 items <= {TARGET_US:.0f} us -> {'ok' if verdict == 0 else 'OVER'}")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
