"""The quality gate: ask live and candidate the same questions and judge the candidate's answers.

`canary compare` prints it; promotion and automated runs use it as one more analysis. The stack's
backend decides where the questions go (the local runtime, or SageMaker with the caller's
credentials); the trained artifacts supply the default questions and what each version knows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from canary import compare_sample
from canary.compare_sample import SampleError
from canary.prediction_sources import (
    DEFAULT_BUDGET,
    Budget,
    PredictionError,
    PredictionSource,
    Retry,
    estimate_line,
    plan_batches,
    predict,
)
from core import quality as compare
from core.config import StackConfig
from core.quality import Answers, QualityVerdict, Sample
from core.thresholds import QualityThresholds
from training.inference import MAX_INSTANCES

MSG_NO_CANDIDATE = "no canary is running on stack {stack}; name the CANDIDATE version to compare"
MSG_UNKNOWN_VERSION = "{version} is not a configured model version (configured: {known})"
MSG_SAME_VERSION = "{version} against itself compares nothing; name two different versions"


class CompareError(ValueError):
    """A comparison that cannot start; the message says why and what to do."""


# everything that stops a comparison, each with a one-line message
GateError = (CompareError, SampleError, PredictionError)


@dataclass(frozen=True)
class CompareRequest:
    candidate: str | None = None  # default: the running canary
    against: str | None = None  # default: live
    sample_size: int | None = None
    pairs: Path | None = None
    data: Path | None = None
    artifacts: Path | None = None  # default: the stack's ratings:local.artifacts under the project
    budget: int = DEFAULT_BUDGET
    batch_pairs: int = MAX_INSTANCES  # the model server refuses more instances per request
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    retry: Retry = field(default_factory=Retry)


@dataclass(frozen=True)
class Target:
    """Who is asked: the stack (named in messages), how to invoke its variants, and where that is."""

    stack: str
    source: PredictionSource
    description: str


@dataclass(frozen=True)
class Outcome:
    result: QualityVerdict
    live_predictions: np.ndarray
    candidate_predictions: np.ndarray


def gate_request(config: StackConfig, candidate: str, thresholds: QualityThresholds) -> CompareRequest:
    """The gate inside `promote` and `run`: the recorded hold-out against live, asked in requests no
    larger than the API's (``api.maxItems``), so that its invocations look like API traffic in the
    per-variant metrics the error and latency analysis reads (one 9,430-pair batch would be the
    p99 of a minute)."""
    return CompareRequest(candidate=candidate, against=config.routing.live, thresholds=thresholds,
                          batch_pairs=config.api.max_items)


def versions(config: StackConfig, stack: str, candidate: str | None, against: str | None) -> tuple[str, str]:
    """(live, candidate) to compare, each a configured version."""
    if candidate is None:
        if config.routing.canary is None:
            raise CompareError(MSG_NO_CANDIDATE.format(stack=stack))
        candidate = config.routing.canary.version
    live = against or config.routing.live
    for version in (candidate, live):
        if version not in config.model_names:
            raise CompareError(MSG_UNKNOWN_VERSION.format(version=version, known=", ".join(config.model_names)))
    if live == candidate:
        raise CompareError(MSG_SAME_VERSION.format(version=live))
    return live, candidate


def artifacts_folder(config: StackConfig, project_dir: Path, request: CompareRequest) -> Path:
    return request.artifacts or project_dir / config.local.artifacts


def sample_for(request: CompareRequest, folders: dict[str, Path], live: str, candidate: str) -> Sample:
    if request.pairs is not None:
        sample = compare_sample.pairs_file(request.pairs)
    else:
        sample = compare_sample.holdout((live, folders[live]), (candidate, folders[candidate]), request.data)
    if request.sample_size is not None:
        sample = compare.subsample(sample, request.sample_size)
    return sample


def _with_fallbacks(answers: Answers, sample: Sample, folder: Path) -> Answers:
    known = compare_sample.known_ids(folder)
    if known is None:
        return answers
    return replace(answers, fallback=compare.fallback_mask(sample.users, sample.items, *known))


def run(config: StackConfig, target: Target, project_dir: Path, request: CompareRequest,
        say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Plan, say the estimate, check the budget, ask both versions, judge."""
    live, candidate = versions(config, target.stack, request.candidate, request.against)
    root = artifacts_folder(config, project_dir, request)
    folders = {live: root / live, candidate: root / candidate}
    sample = sample_for(request, folders, live, candidate)
    batches = plan_batches(sample, request.batch_pairs)
    say(estimate_line(batches, len(sample), target.description))
    budget = Budget(request.budget)
    budget.check(len(batches))
    answers = {version: _with_fallbacks(predict(target.source, version, sample, batches, budget, request.retry, sleep),
                                        sample, folders[version]) for version in (live, candidate)}
    comparison = compare.compare(sample, live, answers[live], candidate, answers[candidate])
    return Outcome(compare.judge_quality(comparison, request.thresholds), answers[live].predictions,
                   answers[candidate].predictions)
