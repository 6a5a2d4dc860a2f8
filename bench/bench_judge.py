"""How often the canary judge is wrong: whole `canary run` rollouts, simulated by the thousand.

Each run is the real controller (core.rollout) on the real schedule (`canary run`'s defaults:
steps 5/25/50 %, 10-minute bakes, a look every 30 s, failure limit 0); traffic between looks is
Poisson counts, split by the weight, with errors drawn per version. Two judges decide every look
side by side: the shipped one (core.analysis.judge) and the old fixed threshold (candidate 5xx
rate over 1 % at any look fails, as does a p99 over 1.5x live's above 20 ms on 100+ requests;
fewer than 100 candidate requests is inconclusive). Latencies are lognormal (median 30 ms), counted
in the local runtime's histogram buckets.

- A/A: live and candidate identical, at 5, 20 and 100 req/s with 0.1, 0.5 and 0.9 % errors: any
  run that does not promote is a false fail. Target: at most 1 % in every scenario.
- Regressions, at 20 req/s: 5xx 0.1 -> 1 % and 0.5 -> 2 %, latencies 50 % longer, and a candidate that hangs 15 or 25
  minutes into the run (its requests time out: the model's metrics stop counting them, the
  gateway answers them 504). A run that promotes is a miss. Target: detection of at least 95 %,
  with the candidate requests it took (median) against the old judge's.
- Sticky canaries (``sticky_*``): 2,000 active users with lognormal request rates, each always
  sent to one version by its bucket, so the candidate's share of requests moves with who is
  active and the traffic check is off. With the gateway's per-version answers (the local stack)
  they are held to the same targets; without them (a sticky canary on AWS, whose access log
  cannot tell the versions apart) the figures are reported, not held to a target.
- On CloudWatch's edges (``*_cloudwatch``): latencies counted as the AWS reader counts them, between
  the percentile-rank edges a factor √2 apart, not the runtime's 16 buckets per doubling.

The shipped judge reads what it reads in use: the model's counts and, where counted, the
gateway's answers per version; the old judge read the model's counts only.

Run: .venv/bin/python bench/bench_judge.py [--runs N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canary.metrics_sources import LATENCY_EDGES_US
from core import analysis, rollout
from core.analysis import Analysis, Verdict
from core.metrics import Answers, VariantStats
from core.run_state import RunState, RunStatus
from core.thresholds import AnalysisThresholds
from emulator.metrics import BUCKETS, BUCKETS_PER_DOUBLING

WEIGHTS, BAKE, INTERVAL = [5.0, 25.0, 50.0], 600.0, 30.0
AA_TARGET, DETECTION_TARGET = 0.01, 0.95
Judge = Callable[[VariantStats, VariantStats, AnalysisThresholds, float | None], Analysis]
USERS, USER_RATE_SIGMA = 2000, 1.0  # sticky scenarios: active users, spread of their request rates


@dataclass(frozen=True)
class Scenario:
    name: str
    rate: float  # requests per second, both versions
    live_errors: float
    candidate_errors: float
    hang_after: float | None = None  # seconds into the run when the candidate stops answering
    slower: float = 1.0  # the candidate's latencies are this many times live's
    sticky: bool = False  # users, not requests, are split by the weight
    gateway_counted: bool = True  # the judge sees the gateway's answers per version
    held_to_target: bool = True
    cloudwatch_edges: bool = False  # latencies counted between canary.metrics_sources.LATENCY_EDGES_US
    cache_hits: float = 0.0  # share of live's requests the stage cache answers (api.cache; never the canary's)

    @property
    def regression(self) -> bool:
        return self.candidate_errors != self.live_errors or self.hang_after is not None or self.slower != 1.0


def scenarios() -> list[Scenario]:
    same = [Scenario(f"aa_{rate:g}rps_{errors:.1%}", rate, errors, errors)
            for rate in (5.0, 20.0, 100.0) for errors in (0.001, 0.005, 0.009)]
    worse = [Scenario("errors_0.1_to_1pct", 20.0, 0.001, 0.01), Scenario("errors_0.5_to_2pct", 20.0, 0.005, 0.02),
             Scenario("latency_plus_50pct", 20.0, 0.001, 0.001, slower=1.5),
             Scenario("hang_mid_run", 20.0, 0.001, 0.001, hang_after=900.0),
             Scenario("hang_last_step", 20.0, 0.001, 0.001, hang_after=1500.0)]
    sticky = [Scenario("sticky_aa_20rps_0.5%", 20.0, 0.005, 0.005, sticky=True),
              Scenario("sticky_errors_0.5_to_2pct", 20.0, 0.005, 0.02, sticky=True),
              Scenario("sticky_hang_mid_run", 20.0, 0.001, 0.001, hang_after=900.0, sticky=True),
              *(Scenario(f"sticky_hang_{when}_aws", 20.0, 0.001, 0.001, hang_after=after, sticky=True,
                         gateway_counted=False, held_to_target=False)
                for when, after in (("mid_run", 900.0), ("last_step", 1500.0)))]
    cloudwatch = [Scenario("aa_20rps_0.5%_cloudwatch", 20.0, 0.005, 0.005, cloudwatch_edges=True),
                  Scenario("latency_plus_50pct_cloudwatch", 20.0, 0.001, 0.001, slower=1.5, cloudwatch_edges=True)]
    cached = [Scenario("aa_20rps_0.5%_cache_75pct", 20.0, 0.005, 0.005, cache_hits=0.75),
              Scenario("errors_0.5_to_2pct_cache_75pct", 20.0, 0.005, 0.02, cache_hits=0.75),
              Scenario("hang_mid_run_cache_75pct", 20.0, 0.001, 0.001, hang_after=900.0, cache_hits=0.75)]
    return same + worse + sticky + cloudwatch + cached


def fixed_threshold(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
                    share: float | None) -> Analysis:
    """The judge before the sequential tests: an absolute 1 % limit at every look, and a p99 over
    1.5x live's (above 20 ms, on 100+ requests)."""
    if candidate.rate_5xx > 0.01:
        return Analysis(Verdict.FAIL, [f"candidate 5xx rate {candidate.rate_5xx:.2%} exceeds 1.00%"], live, candidate)
    live_p99, cand_p99 = live.latency_p99_ms, candidate.latency_p99_ms
    if (candidate.judged >= 100 and live_p99 and cand_p99 and cand_p99 > 20.0 and cand_p99 > 1.5 * live_p99):
        return Analysis(Verdict.FAIL, ["candidate p99 over 1.5x live's"], live, candidate)
    if candidate.judged < thresholds.min_requests:
        return Analysis(Verdict.INCONCLUSIVE, ["too few candidate requests"], live, candidate)
    return Analysis(Verdict.PASS, ["within the threshold"], live, candidate)


def shipped(live: VariantStats, candidate: VariantStats, thresholds: AnalysisThresholds,
            share: float | None) -> Analysis:
    return analysis.judge(live, candidate, thresholds, share=share)


LATENCY_MEDIAN_US, LATENCY_SIGMA = 30_000.0, 0.4  # lognormal model latency: p95 about 58 ms
EDGES = np.exp(np.arange(BUCKETS + 1) / (BUCKETS_PER_DOUBLING / math.log(2)))  # the runtime's bucket edges (µs)


def bucket_probabilities(slower: float) -> np.ndarray:
    """The chance a request lands in each of the runtime's latency buckets (lognormal latencies)."""
    z = (np.log(EDGES) - math.log(LATENCY_MEDIAN_US * slower)) / (LATENCY_SIGMA * math.sqrt(2))
    cdf = 0.5 * (1 + np.array([math.erf(value) for value in z]))
    probabilities = np.clip(np.diff(cdf), 0.0, None)
    return probabilities / probabilities.sum()


LIVE_BUCKETS = bucket_probabilities(1.0)
# the buckets any scenario's latencies can reach (the rest would only cost time in every draw)
SUPPORT = np.flatnonzero((LIVE_BUCKETS > 1e-12) | (bucket_probabilities(1.5) > 1e-12))


KEYS = [round(float(edge), 3) for edge in EDGES]  # a bucket's key in a histogram, as the runtime writes it


# the CloudWatch edge each runtime bucket falls under (0.0 below the first)
CLOUDWATCH_KEYS = [max((edge for edge in LATENCY_EDGES_US if edge <= key), default=0.0) for key in KEYS]


def _histogram(counts: np.ndarray, cloudwatch_edges: bool = False) -> dict[float, int]:
    nonzero = np.flatnonzero(counts)
    keys = CLOUDWATCH_KEYS if cloudwatch_edges else KEYS
    histogram: dict[float, int] = {}
    for index, count in zip(nonzero.tolist(), counts[nonzero].tolist(), strict=True):
        histogram[keys[index]] = histogram.get(keys[index], 0) + count
    return histogram


def _p99_ms(counts: np.ndarray) -> float | None:
    cumulative = np.cumsum(counts)
    if not cumulative[-1]:
        return None
    return KEYS[int(np.searchsorted(cumulative, 0.99 * cumulative[-1]))] / 1000


class Simulated:
    """One rollout's world: simulated time, Poisson traffic, the counts since the step began."""

    def __init__(self, scenario: Scenario, judge: Judge, draw: np.random.Generator):
        self.scenario, self.judge, self.draw = scenario, judge, draw
        self.now, self.weight = 0.0, 0.0
        # sent and 5xx answered per version (the gateway's count), and what each model answered
        self.sent = np.zeros(4, dtype=np.int64)  # live sent, live 5xx, candidate sent, candidate 5xx
        self.cached = 0  # live's answers from the stage cache
        self.model = np.zeros(4, dtype=np.int64)  # live answered, live 5xx, candidate answered, candidate 5xx
        self.latency = np.zeros((2, BUCKETS), dtype=np.int64)  # live, candidate
        candidate = bucket_probabilities(scenario.slower)[SUPPORT]
        self.probabilities = (LIVE_BUCKETS[SUPPORT] / LIVE_BUCKETS[SUPPORT].sum(), candidate / candidate.sum())
        self.candidate_total = 0
        if scenario.sticky:  # users' request rates (mean: the scenario's rate in all) and buckets
            rates = draw.lognormal(0.0, USER_RATE_SIGMA, USERS)
            self.user_rates, self.user_buckets = rates * scenario.rate / rates.sum(), draw.integers(0, 100, USERS)

    def set_weight(self, weight: float) -> None:
        self.weight, self.sent[:], self.model[:], self.latency[:], self.cached = weight, 0, 0, 0, 0

    def _split(self, seconds: float) -> tuple[int, int]:
        """Requests sent to live and to the candidate over ``seconds``."""
        if not self.scenario.sticky:
            sent = self.draw.poisson(self.scenario.rate * seconds)
            to_candidate = self.draw.binomial(sent, self.weight / 100.0)
            return sent - to_candidate, to_candidate
        counts = self.draw.poisson(self.user_rates * seconds)
        to_candidate = int(counts[self.user_buckets < self.weight].sum())
        return int(counts.sum()) - to_candidate, to_candidate

    def sleep(self, seconds: float) -> None:
        sent_live, to_candidate = self._split(seconds)
        cached = self.draw.binomial(sent_live, self.scenario.cache_hits) if self.scenario.cache_hits else 0
        live = sent_live - cached  # what live's model was asked
        self.cached += cached
        answered = 0 if self._hung() else to_candidate
        live_errors = self.draw.binomial(live, self.scenario.live_errors)
        candidate_errors = self.draw.binomial(answered, self.scenario.candidate_errors)
        self.model += (live, live_errors, answered, candidate_errors)
        self.sent += (sent_live, live_errors, to_candidate, candidate_errors + to_candidate - answered)
        for row, count in ((0, live), (1, answered)):
            self.latency[row, SUPPORT] += self.draw.multinomial(count, self.probabilities[row])
        self.candidate_total += to_candidate
        self.now += seconds

    def _hung(self) -> bool:
        return self.scenario.hang_after is not None and self.now >= self.scenario.hang_after

    def analyse(self, window: float) -> Analysis:
        live_n, live_e, cand_n, cand_e = (int(v) for v in self.model)
        live_sent, live_5xx, cand_sent, cand_5xx = (int(v) for v in self.sent)
        counted, edges = self.scenario.gateway_counted, self.scenario.cloudwatch_edges
        live, candidate = self.latency
        return self.judge(
            VariantStats(live_n, 0, live_e, _p99_ms(live), _histogram(live, edges),
                         Answers(live_sent, 0, live_5xx, cached=self.cached) if counted else None),
            VariantStats(cand_n, 0, cand_e, _p99_ms(candidate), _histogram(candidate, edges),
                         Answers(cand_sent, 0, cand_5xx, cand_sent - cand_n) if counted else None),
            AnalysisThresholds(), None if self.scenario.sticky else self.weight / 100.0)


def one_run(scenario: Scenario, judge: Judge, draw: np.random.Generator) -> tuple[bool, int]:
    """Whether the run promoted, and how many requests the candidate was sent."""
    world = Simulated(scenario, judge, draw)
    state = RunState.planned("bench", "v2", WEIGHTS, BAKE, INTERVAL, 0, BAKE, False, AnalysisThresholds())

    def nothing(*_: object) -> None:
        return None

    actions = rollout.Actions(set_weight=world.set_weight, analyse=world.analyse, promote=nothing,
                              stop_canary=nothing, save=nothing, say=nothing, clock=lambda: world.now,
                              sleep=world.sleep)
    final = rollout.execute(state, actions)
    return final.status is RunStatus.PROMOTED, world.candidate_total


def measure(judge: Judge, runs: int, seed: int) -> dict:
    results: dict = {"false_fail_rate": {}, "detection_rate": {}, "median_requests_to_detect": {},
                     "not_held_to_target": [s.name for s in scenarios() if not s.held_to_target]}
    for number, scenario in enumerate(scenarios()):
        draw = np.random.default_rng([seed, number])
        outcomes = [one_run(scenario, judge, draw) for _ in range(runs)]
        if scenario.regression:
            caught = [requests for promoted, requests in outcomes if not promoted]
            results["detection_rate"][scenario.name] = len(caught) / runs
            results["median_requests_to_detect"][scenario.name] = statistics.median(caught) if caught else None
        else:
            results["false_fail_rate"][scenario.name] = sum(not promoted for promoted, _ in outcomes) / runs
    results["aa_false_fail_rate"] = max(results["false_fail_rate"].values())
    return results


def targets_met(figures: dict) -> bool:
    held = [rate for name, rate in figures["detection_rate"].items() if name not in figures["not_held_to_target"]]
    return figures["aa_false_fail_rate"] <= AA_TARGET and min(held) >= DETECTION_TARGET


def _table(name: str, figures: dict) -> list[str]:
    lines = [f"{name}:", f"  {'A/A scenario':<32}{'false fail':>12}"]
    lines += [f"  {key:<32}{value:>12.1%}" for key, value in figures["false_fail_rate"].items()]
    lines.append(f"  {'regression':<32}{'detected':>12}{'median requests':>18}")
    for key, value in figures["detection_rate"].items():
        median = figures["median_requests_to_detect"][key]
        note = "  (reported, no target)" if key in figures["not_held_to_target"] else ""
        lines.append(f"  {key:<32}{value:>12.1%}{'-' if median is None else f'{median:,.0f}':>18}{note}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="rollouts per scenario and judge")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    options = parser.parse_args()
    started = time.perf_counter()
    figures = {"shipped": measure(shipped, options.runs, options.seed),
               "fixed_threshold": measure(fixed_threshold, options.runs, options.seed)}
    if options.json:
        print(json.dumps(figures, indent=2))
    else:
        tables = _table("shipped judge", figures["shipped"]) + _table("fixed threshold", figures["fixed_threshold"])
        print("\n".join(tables))
        print(f"{options.runs:,} runs per scenario and judge in {time.perf_counter() - started:.0f} s")
    met = targets_met(figures["shipped"])
    print("targets met" if met else "targets NOT met", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
