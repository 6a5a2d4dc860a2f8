"""``canary``: roll a model version out on a stack. The commands parse and print; the work is
in canary.plan (pure), canary.analysis, canary.stacks and canary.rollout."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from canary import analysis, cloud, compare_command, plan, rollout
from canary.metrics_sources import MetricsError
from canary.stacks import ApplyError, StackOps, for_stack
from components import config as stack_config
from components.config_fields import ConfigError
from components.stack_files import StackFileError

WINDOW = "10m"


@dataclass
class Context:
    stack: StackOps
    project_dir: Path


def _parse(values) -> stack_config.StackConfig:
    try:
        return stack_config.parse(values)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _metrics(config: stack_config.StackConfig, stack_name: str):
    from canary import metrics_sources

    if stack_name == "local":
        return metrics_sources.LocalRuntimeMetrics(f"http://127.0.0.1:{config.local.runtime_port}")
    import boto3

    return metrics_sources.CloudWatchMetrics(boto3.client("cloudwatch", region_name=config.region))


def stack_option(command):
    """`--stack` is accepted after the command too (canary promote --stack prod)."""
    def override(click_context, _param, value):
        if value is not None:
            ctx = click_context.find_object(Context)
            ctx.stack = for_stack(value, ctx.project_dir)
        return value

    return click.option("--stack", "stack_override", default=None, expose_value=False, callback=override,
                        is_eager=True, help="Stack to change (same as the option before the command).")(command)


def thresholds_options(command):
    for option in reversed([
        click.option("--window", default=WINDOW, show_default=True, help="Analysis window (30s, 10m, 1h)."),
        click.option("--min-requests", type=click.IntRange(1), default=analysis.Thresholds.min_requests,
                     show_default=True, help="Fewer candidate requests: inconclusive."),
        click.option("--max-5xx-rate", type=click.FloatRange(0, 1), default=analysis.Thresholds.max_5xx_rate,
                     show_default=True, help="Highest acceptable candidate 5xx share."),
        click.option("--max-latency-ratio", type=click.FloatRange(1), default=analysis.Thresholds.max_latency_ratio,
                     show_default=True, help="Highest acceptable candidate/live p99 ratio ..."),
        click.option("--latency-floor-ms", type=click.FloatRange(0), default=analysis.Thresholds.latency_floor_ms,
                     show_default=True, help="... once the candidate's p99 exceeds this many ms."),
    ]):
        command = option(command)
    return command


def _thresholds(min_requests: int, max_5xx_rate: float, max_latency_ratio: float,
                latency_floor_ms: float) -> analysis.Thresholds:
    return analysis.Thresholds(min_requests=min_requests, max_5xx_rate=max_5xx_rate,
                               max_latency_ratio=max_latency_ratio, latency_floor_ms=latency_floor_ms)


def _window(text: str) -> float:
    try:
        return rollout.parse_duration(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--window") from None


def _analyse(config, stack_name, thresholds, window) -> analysis.Analysis:
    canary = config.routing.canary
    try:
        return analysis.analyse(_metrics(config, stack_name), config.endpoint.name, config.routing.live,
                                canary.version, window, thresholds)
    except MetricsError as error:
        raise click.ClickException(str(error)) from None


def _apply(ctx: Context, make_plan, dry_run: bool) -> plan.Plan:
    """Read, plan and write under the stack file's lock; print the change either way.

    A dry run only reads (writes are atomic, so a read is always whole) and takes no lock."""
    try:
        with contextlib.nullcontext() if dry_run else ctx.stack.locked():
            values = ctx.stack.read()
            change = make_plan(values, _parse(values))
            click.echo(f"{change.command} on stack {ctx.stack.name}:")
            for line in change.changes():
                click.echo(f"  {line}")
            for note in change.notes:
                click.echo(f"  - {note}")
            if dry_run:
                click.echo("dry run: nothing changed")
            else:
                ctx.stack.apply(change, cloud.options_from(click.get_current_context(silent=True)))
                click.echo("applied")
            return change
    except plan.Refusal as refusal:
        raise click.ClickException(f"refused: {refusal}") from None
    except (ApplyError, StackFileError, ConfigError) as error:
        raise click.ClickException(str(error)) from None


@click.group()
@click.option("--stack", default="local", show_default=True, help="Stack whose Pulumi.<stack>.yaml to change.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True)
@click.pass_context
def main(click_context, stack: str, project_dir: Path) -> None:
    """Roll model versions out as canaries: start, analyse, promote, roll back, retire, run."""
    click_context.obj = Context(for_stack(stack, project_dir), project_dir)


@main.command()
@stack_option
@thresholds_options
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), help="Also write a PNG chart.")
@click.pass_obj
def status(ctx: Context, window: str, min_requests: int, max_5xx_rate: float, max_latency_ratio: float,
           latency_floor_ms: float, chart: Path | None) -> None:
    """Routing of the stack and, while a canary runs, candidate vs live metrics."""
    from canary import report

    try:
        config = _parse(ctx.stack.read())
    except StackFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.routing_table(config))
    if config.routing.canary is None:
        return
    seconds = _window(window)
    thresholds = _thresholds(min_requests, max_5xx_rate, max_latency_ratio, latency_floor_ms)
    result = _analyse(config, ctx.stack.name, thresholds, seconds)
    click.echo(report.analysis_table(config, result, window))
    if chart:
        try:
            report.chart(_metrics(config, ctx.stack.name), config, seconds, chart)
        except MetricsError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"chart written to {chart}")


@main.command()
@stack_option
@click.argument("version")
@click.option("--percent", type=float, required=True, help="Share of API traffic for VERSION, in (0, 100].")
@click.option("--sticky", is_flag=True, help="Route by user (same user, same version) instead of per request.")
@click.option("--dry-run", is_flag=True, help="Show the change, apply nothing.")
@cloud.options
@click.pass_obj
def start(ctx: Context, version: str, percent: float, sticky: bool, dry_run: bool) -> None:
    """Send PERCENT of traffic to model VERSION."""
    _apply(ctx, lambda values, config: plan.start(values, config, version, percent, sticky), dry_run)


@main.command("set")
@stack_option
@click.option("--percent", type=float, required=True)
@click.option("--dry-run", is_flag=True)
@cloud.options
@click.pass_obj
def set_command(ctx: Context, percent: float, dry_run: bool) -> None:
    """Change the running canary's share of traffic."""
    _apply(ctx, lambda values, config: plan.set_percent(values, config, percent), dry_run)


@main.command()
@stack_option
@thresholds_options
@click.option("--force", is_flag=True, help="Promote even when the analysis fails or is inconclusive.")
@click.option("--dry-run", is_flag=True)
@cloud.options
@click.pass_obj
def promote(ctx: Context, window: str, min_requests: int, max_5xx_rate: float, max_latency_ratio: float,
            latency_floor_ms: float, force: bool, dry_run: bool) -> None:
    """Make the canary live, if its metrics hold up; the old version stays for rollback."""
    def checked_plan(values, config):
        if force:
            click.echo("forced: promoting without looking at the metrics")
        elif config.routing.canary is not None:
            thresholds = _thresholds(min_requests, max_5xx_rate, max_latency_ratio, latency_floor_ms)
            result = _analyse(config, ctx.stack.name, thresholds, _window(window))
            click.echo(f"analysis: {result.verdict.value} ({'; '.join(result.reasons)})")
            if result.verdict is not analysis.Verdict.PASS:
                raise plan.Refusal(f"analysis is {result.verdict.value}; wait for more traffic or pass --force")
        return plan.promote(values, config)

    _apply(ctx, checked_plan, dry_run)


@main.command()
@stack_option
@click.option("--dry-run", is_flag=True)
@cloud.options
@click.pass_obj
def rollback(ctx: Context, dry_run: bool) -> None:
    """Stop the canary, or flip back to the version live before the last promotion."""
    _apply(ctx, plan.rollback, dry_run)


@main.command()
@stack_option
@click.argument("version")
@click.option("--dry-run", is_flag=True)
@cloud.options
@click.pass_obj
def retire(ctx: Context, version: str, dry_run: bool) -> None:
    """Remove model VERSION from the endpoint (it must serve no traffic)."""
    _apply(ctx, lambda values, config: plan.retire(values, config, version), dry_run)


@main.command()
@stack_option
@click.argument("version")
@click.option("--steps", default="5,25,50", show_default=True, help="Canary weights, in order (percent).")
@click.option("--bake", default="10m", show_default=True, help="Wait before each analysis.")
@click.option("--sticky", is_flag=True)
@thresholds_options
@click.option("--dry-run", is_flag=True, help="Print the schedule, change nothing.")
@cloud.options
@click.pass_obj
def run(ctx: Context, version: str, steps: str, bake: str, sticky: bool, window: str, min_requests: int,
        max_5xx_rate: float, max_latency_ratio: float, latency_floor_ms: float, dry_run: bool) -> None:
    """Roll VERSION out step by step; any failed analysis rolls it back."""
    try:
        weights = [float(w) for w in steps.split(",")]
    except ValueError:
        raise click.BadParameter(f"{steps!r} is not a comma-separated list of percents", param_hint="--steps") \
            from None
    if not all(0 < w <= 100 for w in weights):
        raise click.BadParameter("every step must be a percent in (0, 100]", param_hint="--steps")
    try:
        bake_seconds = rollout.parse_duration(bake)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--bake") from None
    schedule = rollout.schedule(weights, bake_seconds)
    if dry_run:
        for step in schedule:
            click.echo(f"  {step}")
        click.echo("then promote; dry run: nothing changed")
        return
    thresholds = _thresholds(min_requests, max_5xx_rate, max_latency_ratio, latency_floor_ms)
    seconds = min(_window(window), bake_seconds) if bake_seconds else _window(window)
    started = []

    def set_weight(weight: float) -> None:
        if not started:
            _apply(ctx, lambda values, config: plan.start(values, config, version, weight, sticky), False)
            started.append(True)
        else:
            _apply(ctx, lambda values, config: plan.set_percent(values, config, weight), False)

    def analyse() -> analysis.Analysis:
        return _analyse(_parse(ctx.stack.read()), ctx.stack.name, thresholds, seconds)

    outcome = rollout.run(schedule, set_weight, analyse, lambda: _apply(ctx, plan.promote, False),
                          lambda: _apply(ctx, plan.rollback, False), say=click.echo)
    click.echo(outcome.reason)
    if not outcome.promoted:
        sys.exit(1)


main.add_command(compare_command.compare)
