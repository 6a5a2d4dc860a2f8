"""The pieces every `canary` command shares: option types and groups, the error-to-exit mapping,
the collaborators handed to canary.service, and printing (text or ``--json``)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import click

from canary import cloud, plan, report, rollout, service
from canary.analysis import Verdict
from canary.metrics_sources import MetricsError
from canary.run_state import RunStateError
from canary.stacks import ApplyError, StackOps, for_stack
from components import config as stack_config
from components.config_fields import ConfigError
from components.stack_files import StackFileError

WINDOW = "10m"
EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_ROLLBACK_FAILED = 3, 4, 5
VERDICT_EXIT = {Verdict.PASS: 0, Verdict.FAIL: EXIT_FAIL, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}
ENDED_EXIT = {"promoted": 0, "fail": EXIT_FAIL, "inconclusive": EXIT_INCONCLUSIVE, "SIGINT": 130, "SIGTERM": 143}
CLEAR = "\x1b[H\x1b[2J"


@dataclass
class Context:
    stack: StackOps
    project_dir: Path


class Exit(click.ClickException):
    """A message and a chosen exit code (a verdict's)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = code


@contextlib.contextmanager
def user_errors():
    """Every expected failure becomes one line and a non-zero exit, never a traceback."""
    try:
        yield
    except service.VerdictRefusal as refusal:
        raise Exit(f"refused: {refusal}", VERDICT_EXIT[refusal.result.verdict]) from None
    except plan.Refusal as refusal:
        raise click.ClickException(f"refused: {refusal}") from None
    except (ApplyError, StackFileError, ConfigError, MetricsError, RunStateError) as error:
        raise click.ClickException(str(error)) from None


class Percent(click.ParamType):
    name = "percent"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        problem = stack_config.percent_problem(number, "percent")
        if problem:
            self.fail(problem, param, ctx)
        return number


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            return rollout.parse_duration(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _metrics(config: stack_config.StackConfig, stack_name: str):
    from canary import metrics_sources

    if stack_name == "local":
        return metrics_sources.LocalRuntimeMetrics(f"http://127.0.0.1:{config.local.runtime_port}")
    import boto3

    return metrics_sources.CloudWatchMetrics(boto3.client("cloudwatch", region_name=config.region))


def collaborators_for(ctx: Context, as_json: bool) -> service.Collaborators:
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    options = cloud.options_from(click.get_current_context(silent=True))
    return service.Collaborators(ctx.stack, lambda config: _metrics(config, ctx.stack.name), options, say)


def emit(as_json: bool, data, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


def stack_option(command):
    """`--stack` is accepted after the command too (canary promote --stack prod)."""
    def override(click_context, _param, value):
        if value is not None:
            ctx = click_context.find_object(Context)
            ctx.stack = for_stack(value, ctx.project_dir)
        return value

    command = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (messages go to "
                           "standard error).")(command)
    return click.option("--stack", "stack_override", default=None, expose_value=False, callback=override,
                        is_eager=True, help="Stack to use (same as the option before the command).")(command)


def thresholds_options(command):
    """Analysis flags; each one left out comes from the stack's routing.analysis, then the built-in default."""
    defaults = stack_config.AnalysisThresholds()
    for option in reversed([
        click.option("--window", type=Duration(), default=WINDOW, show_default=True,
                     help="How far back the analysis looks (30s, 10m, 1h)."),
        click.option("--min-requests", type=click.IntRange(1), default=None,
                     help=f"Fewer candidate requests than this: inconclusive [routing.analysis.minRequests, "
                          f"else {defaults.min_requests}]."),
        click.option("--max-5xx-rate", type=click.FloatRange(0, 1), default=None,
                     help=f"Highest acceptable candidate 5xx share [routing.analysis.max5xxRate, else "
                          f"{defaults.max_5xx_rate:g}]."),
        click.option("--max-latency-ratio", type=click.FloatRange(1), default=None,
                     help=f"Highest acceptable candidate/live p99 ratio [routing.analysis.maxLatencyRatio, else "
                          f"{defaults.max_latency_ratio:g}] ..."),
        click.option("--latency-floor-ms", type=click.FloatRange(0), default=None,
                     help=f"... applied once the candidate's p99 exceeds this [routing.analysis.latencyFloorMs, "
                          f"else {defaults.latency_floor_ms:g}]."),
    ]):
        command = option(command)
    return command


def threshold_flags(kwargs: dict) -> dict:
    return {name: kwargs.pop(name) for name in ("min_requests", "max_5xx_rate", "max_latency_ratio",
                                                "latency_floor_ms")}


def dry_run_option(command):
    return click.option("--dry-run", is_flag=True, help="Show the change, apply nothing.")(command)


def show_change(ctx: Context, as_json: bool):
    """Print a change before it applies (a cloud stack asks for confirmation after it)."""
    def show(outcome: service.Outcome) -> None:
        if not as_json:
            text = report.change_text(ctx.stack.name, outcome.plan, outcome.diff, applied=False)
            click.echo(text.rsplit("\n", 1)[0])
    return show


def finish_change(ctx: Context, as_json: bool, outcome: service.Outcome) -> None:
    if as_json:
        emit(True, report.change_json(ctx.stack.name, outcome.plan, outcome.diff, outcome.applied,
                                       outcome.analysis), "")
    else:
        click.echo("applied" if outcome.applied else "dry run: nothing changed")
