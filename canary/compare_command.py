"""``canary compare``: ask live and candidate the same questions and judge the candidate's answers.

Exits 0 when the candidate passes, 3 when it fails, 4 when the sample is too small to say;
1 with one line for anything that stops the comparison (unknown versions, a bad pairs file, a
runtime that is down, a budget too small).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from canary.cli_options import VERDICT_EXIT, ClickConsole, Context, stack_option
from canary.prediction_sources import DEFAULT_BUDGET, Retry
from core.fields import ConfigError
from core.stack_file import StackFileError
from core.thresholds import QualityThresholds, with_overrides

DEFAULT_RETRIES = Retry.attempts - 1
QUALITY_FLAGS = ("max_rmse_increase", "max_p95_difference", "min_rank_agreement", "min_pairs")
MSG_PLOT = "cannot write the plot to {path}: {error}"


def quality_options(command):
    """Quality thresholds; each one left out comes from routing.analysis.quality, else the default."""
    defaults = QualityThresholds()
    for option in reversed([
        click.option("--max-rmse-increase", type=click.FloatRange(0), default=None,
                     help=f"Fail when the candidate's RMSE exceeds live's by more [{defaults.max_rmse_increase:g}]."),
        click.option("--max-p95-difference", type=click.FloatRange(0), default=None,
                     help=f"Fail when 95 % of answers move by more stars [{defaults.max_p95_difference:g}]."),
        click.option("--min-rank-agreement", type=click.FloatRange(-1, 1), default=None,
                     help=f"Fail below this median Kendall's tau per user [{defaults.min_rank_agreement:g}]."),
        click.option("--min-pairs", type=click.IntRange(1), default=None,
                     help=f"Fewer pairs (with known ratings): inconclusive [{defaults.min_pairs}]."),
    ]):
        command = option(command)
    return command


def quality_gate_options(command):
    """`--quality/--no-quality` and the quality thresholds, for commands that may judge predictions."""
    command = quality_options(command)
    return click.option("--quality/--no-quality", default=None,
                        help="Judge the candidate's predictions against live's too [on when the stack has "
                             "routing.analysis.quality].")(command)


def quality_thresholds(base: QualityThresholds | None, flags: dict) -> QualityThresholds:
    """The stack's quality thresholds (or the defaults) with the flags a command was given."""
    return with_overrides(base or QualityThresholds(), flags)


def quality_flags(kwargs: dict) -> dict:
    return {name: kwargs.pop(name) for name in QUALITY_FLAGS}


@click.command("compare")
@stack_option
@click.argument("candidate", required=False)
@click.option("--against", help="Version to compare with [default: live].")
@click.option("--sample", "sample_size", type=click.IntRange(1), help="Ask about N pairs only, drawn user by user.")
@click.option("--pairs", type=click.Path(path_type=Path),
              help="Ask about the `user,item[,rating]` lines of FILE instead of the recorded hold-out.")
@click.option("--data", type=click.Path(path_type=Path),
              help="MovieLens 100k folder or zip the versions were trained on (default: the recbole wheel copy).")
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of trained versions [default: the stack's ratings:local.artifacts].")
@click.option("--budget", type=click.IntRange(1), default=DEFAULT_BUDGET, show_default=True,
              help="Most invocations to send, throttling retries included.")
@click.option("--batch-pairs", type=click.IntRange(1), default=None,
              help="Most pairs per invocation [what the model server takes in one request]; bodies also stay "
                   "within the 6 MB payload limit.")
@click.option("--retries", type=click.IntRange(0), default=DEFAULT_RETRIES, show_default=True,
              help="Retries of a throttled invocation, with exponential backoff.")
@quality_options
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a PNG of live vs candidate predictions.")
@click.pass_obj
def compare(ctx: Context, candidate: str | None, against: str | None, sample_size: int | None, pairs: Path | None,
            data: Path | None, artifacts: Path | None, budget: int, batch_pairs: int, retries: int,
            plot: Path | None, as_json: bool, **flags) -> None:
    """Ask CANDIDATE (default: the canary) and live the same questions; judge its predictions.

    RMSE and MAE against known ratings, how far answers move, rank agreement per user, fallback
    answers and latency, side by side. Exits 0 (pass), 3 (fail) or 4 (inconclusive)."""
    from canary import compare_report, quality_gate  # scipy, the training code: only when comparing

    console = ClickConsole(as_json)
    backend = ctx.backend
    try:
        config = backend.stack.read().config
        request = quality_gate.CompareRequest(
            candidate, against, sample_size, pairs, data, artifacts, budget,
            batch_pairs or quality_gate.CompareRequest.batch_pairs, quality_thresholds(config.routing.quality, flags),
            Retry(attempts=retries + 1))
        target = quality_gate.Target(backend.stack.name, backend.predictions(config), backend.target(config))
        outcome = quality_gate.run(config, target, ctx.project_dir, request, console.say)
    except (*quality_gate.GateError, StackFileError, ConfigError) as error:
        raise click.ClickException(str(error)) from None

    if plot is not None:
        try:
            compare_report.plot(outcome.result, outcome.live_predictions, outcome.candidate_predictions, plot)
        except OSError as error:
            raise click.ClickException(MSG_PLOT.format(path=plot, error=error.strerror or error)) from None
    if as_json:
        click.echo(json.dumps(compare_report.as_json(outcome.result, request.thresholds), indent=2))
    else:
        click.echo(compare_report.table(outcome.result))
        if plot is not None:
            click.echo(f"plot written to {plot}")
    sys.exit(VERDICT_EXIT[outcome.result.verdict])
