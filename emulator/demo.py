"""``ratings local demo``: a burst of requests through the local API, split by version."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from dataclasses import dataclass

import aiohttp
import numpy as np


@dataclass
class Outcome:
    version: str
    status: int
    latency_ms: float


async def burst(url: str, requests: int, concurrency: int, seed: int = 0) -> list[Outcome]:
    """``requests`` GETs of random users and 3 random items, ``concurrency`` at a time."""
    rng = random.Random(seed)
    queries = [(rng.randint(1, 943), ",".join(str(rng.randint(1, 1682)) for _ in range(3))) for _ in range(requests)]
    outcomes: list[Outcome] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        async def worker(chunk):
            for user, items in chunk:
                started = time.perf_counter()
                try:
                    async with client.get(f"{url}/{user}?items={items}") as answer:
                        await answer.read()
                        version, status = answer.headers.get("x-model-version", "-"), answer.status
                except (aiohttp.ClientError, TimeoutError):
                    version, status = "-", 0
                outcomes.append(Outcome(version, status, (time.perf_counter() - started) * 1000))

        await asyncio.gather(*(worker(queries[n::concurrency]) for n in range(concurrency)))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.version].append(outcome)
    lines = [f"{'version':<9}{'requests':>9}{'share':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}", "-" * 52]
    for version, group in sorted(groups.items()):
        latency = np.array([o.latency_ms for o in group])
        errors = sum(1 for o in group if o.status != 200)
        lines.append(f"{version:<9}{len(group):>9}{100 * len(group) / len(outcomes):>7.1f}%"
                     f"{np.percentile(latency, 50):>9.2f}{np.percentile(latency, 99):>9.2f}{errors:>8}")
    return "\n".join(lines)
