"""Training runs as jobs: one in this process, or several at once with one process per core.

A first `ratings local up` trains every configured version; on two cores two versions trained side
by side (one BLAS thread each) finish sooner than one after the other with two threads each,
because much of a run (Adam updates, Gibbs bookkeeping, the baselines) is single-threaded anyway.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queues
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from training import data as movielens_data
from training.params import TrainParams

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class TrainJob:
    version: str
    params: TrainParams
    source: Path | None  # None: the default MovieLens copy
    out: Path


class JobFailed(Exception):
    """A job that could not finish; the message names the version and the reason."""


def load_split(source: Path | None, seed: int):
    from training import movielens

    if source is None:
        ratings = movielens.load_default()
        return ratings, movielens_data.holdout(ratings, seed)
    ratings, own_split = movielens_data.load(source)
    return ratings, own_split or movielens_data.holdout(ratings, seed)


def run(job: TrainJob, progress=None) -> str:
    """Train, save the artifact and its learning curve; the summary a person reads."""
    from training import artifact, report  # heavy imports (numpy stacks, matplotlib) only when training
    from training.train import OURS, train

    ratings, split = load_split(job.source, job.params.holdout_seed)
    model, result = train(job.version, split, job.params, ratings.checksum(), progress)
    folder = job.out / job.version
    artifact.save(model, folder)
    report.plot(result, folder / "learning_curve.png")
    verdict = "lowest" if result.rmse[OURS] < result.best_baseline else "NOT below the best baseline"
    return (f"{job.version}: trained in {result.seconds:.1f} s on {len(split.train):,} ratings, "
            f"evaluated on {len(split.test):,} ({split.source})\n\n{report.table(result)}\n\n"
            f"ours: {result.rmse[OURS]:.4f} RMSE, {verdict}; saved to {folder}/ "
            "(model.npz, metadata.json, learning_curve.png)")


def run_all(jobs: list[TrainJob], workers: int, show_progress: bool) -> list[str]:
    """Every job, ``workers`` at a time, one progress bar per version; summaries in job order."""
    if workers <= 1 or len(jobs) == 1:
        return [_run_here(job, show_progress) for job in jobs]
    context = multiprocessing.get_context("spawn")  # no forked BLAS or tqdm state
    ticks = context.Queue()
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(ticks, threads)) as pool:
        futures = [pool.submit(_run_in_worker, job) for job in jobs]
        _follow(futures, jobs, ticks, show_progress)
    return [_result(future, job) for future, job in zip(futures, jobs, strict=True)]


def _run_here(job: TrainJob, show_progress: bool) -> str:
    from training.train import steps

    with tqdm(total=steps(job.params), desc=f"training {job.version}", unit="step",
              disable=not show_progress) as bar:
        try:
            return run(job, bar)
        except movielens_data.DataError as error:
            raise JobFailed(f"{job.version}: {error}") from None


def _result(future: Future, job: TrainJob) -> str:
    try:
        return future.result()
    except movielens_data.DataError as error:
        raise JobFailed(f"{job.version}: {error}") from None
    except Exception as error:  # noqa: BLE001  # a worker that died or raised: name the version, keep it one line
        raise JobFailed(f"{job.version}: training failed: {type(error).__name__}: {error}") from None


def _follow(futures: list[Future], jobs: list[TrainJob], ticks, show_progress: bool) -> None:
    """Move each version's bar as its worker reports steps, until every job has ended."""
    from training.train import steps

    bars = {job.version: tqdm(total=steps(job.params), desc=f"training {job.version}", unit="step",
                              position=index, leave=True, disable=not show_progress)
            for index, job in enumerate(jobs)}
    try:
        while not all(future.done() for future in futures):
            _drain(ticks, bars, POLL_SECONDS)
        _drain(ticks, bars, 0)
    finally:
        for bar in bars.values():
            bar.close()


def _drain(ticks, bars: dict[str, tqdm], wait: float) -> None:
    try:
        version, count = ticks.get(timeout=wait) if wait else ticks.get_nowait()
        bars[version].update(count)
        while True:
            version, count = ticks.get_nowait()
            bars[version].update(count)
    except queues.Empty:
        return


# --- inside a worker process ------------------------------------------------------------------

_worker_ticks = None
_worker_limits = None  # kept referenced: the BLAS thread limit lasts as long as this object


class _QueueProgress:
    """The worker's side of a progress bar: step counts sent to the parent."""

    def __init__(self, version: str):
        self.version = version

    def update(self, n: int = 1) -> None:
        if n:
            assert _worker_ticks is not None, "set by _start_worker, the pool's initializer"
            _worker_ticks.put((self.version, n))


def _start_worker(ticks, threads: int) -> None:
    global _worker_ticks, _worker_limits
    from threadpoolctl import threadpool_limits

    _worker_ticks = ticks
    _worker_limits = threadpool_limits(limits=threads)


def _run_in_worker(job: TrainJob) -> str:
    return run(job, _QueueProgress(job.version))
