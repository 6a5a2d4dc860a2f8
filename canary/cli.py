"""``canary``: roll a model version out on a stack. The commands parse and print; the work is in
canary.service, which applies ``core``'s plans, analysis and rollout through the stack's backend
(canary.backends).

Every command defaults to the ``local`` stack, like every `ratings` command. Exit codes: 0 done
(or a passing verdict), 1 an error or a refusal, 2 a usage mistake, 3 a failing verdict, 4 an
inconclusive one, 5 a rollback that did not complete, 6 a run aborted by `canary abort`; a run
stopped by SIGINT, SIGTERM or SIGHUP exits 130, 143 or 129 once the candidate is rolled back.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import click

from canary import compare_command, report, service
from canary.backends import for_stack
from canary.cli_options import (
    CLEAR,
    ENDED_EXIT,
    EXIT_ROLLBACK_FAILED,
    VERDICT_EXIT,
    Context,
    Duration,
    Percent,
    cloud_step_options,
    collaborators_for,
    dry_run_option,
    emit,
    event,
    finish_change,
    show_change,
    stack_option,
    threshold_flags,
    thresholds_options,
    user_errors,
)
from core import routing as routes
from core.run_state import RunStatus
from core.schedule import describe_duration
from core.stack_file import DEFAULT_STACK


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ratings-api", message="%(prog)s %(version)s")
@click.option("--stack", default=DEFAULT_STACK, show_default=True,
              help="Stack whose Pulumi.<stack>.yaml to read and change.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory holding the Pulumi project and its stack files.")
@click.pass_context
def main(click_context, stack: str, project_dir: Path) -> None:
    """Roll model versions out as canaries: start, analyse, promote, roll back, retire, run."""
    click_context.obj = Context(for_stack(stack, project_dir), project_dir, for_stack)


def _status_data(stack: str, found: service.Status) -> dict:
    config = found.config
    return {"stack": stack, "routing": routes.to_json(config.routing),
            "traffic": {name: report.stats_json(stats) for name, stats in found.traffic.items()},
            "analysis": report.analysis_json(found.analysis), "windowSeconds": found.window,
            "metricsError": found.metrics_error, "servedDrift": found.served_drift,
            "run": found.run.to_json() if found.run else None,
            "runElsewhere": dataclasses.asdict(found.elsewhere) if found.elsewhere else None}


def _status_text(found: service.Status, window: str) -> str:
    parts = [report.routing_table(found.config)]
    if found.served_drift:
        parts.append(found.served_drift)
    if found.traffic:
        parts.append(report.traffic_table(found.traffic, window))
    if found.analysis is not None:
        parts.append(report.verdict_line(found.analysis))
        if found.analysis.checks:
            parts.append(report.checks_table(found.analysis))
    if found.run is not None:
        parts += report.run_lines(found.run, found.run_alive)
    if found.elsewhere is not None:
        held = found.elsewhere
        parts.append(f"\nrun of {held.version} in progress from another machine ({held.describe()}); "
                     "`canary abort` stops it from here")
    return "\n".join(parts)


@main.command()
@stack_option
@thresholds_options
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a PNG chart of the window (requests, 5xx rate, p99, thresholds, run steps).")
@click.option("--watch", is_flag=True, help="Keep the view open, refreshed every --refresh, until Ctrl-C.")
@click.option("--refresh", type=Duration(), default="2s", show_default=True, help="Refresh period of --watch.")
@click.pass_obj
def status(ctx: Context, window: float, chart: Path | None, watch: bool, refresh: float, as_json: bool,
           **kwargs) -> None:
    """Routing, what each version served, the canary's verdict and the recorded run.

    Exits 0 (pass or no canary), 3 (fail) or 4 (inconclusive)."""
    flags = threshold_flags(kwargs)
    collaborators = collaborators_for(ctx, as_json)
    try:
        while True:
            found = _status_once(ctx, collaborators, flags, window, chart, watch, as_json)
            if not watch:
                break
            time.sleep(refresh)
    except KeyboardInterrupt:  # the way out of --watch
        return
    if found.metrics_error:
        raise click.ClickException(found.metrics_error)
    if found.analysis is not None:
        sys.exit(VERDICT_EXIT[found.analysis.verdict])


def _status_once(ctx: Context, collaborators: service.Collaborators, flags: dict, window: float,
                 chart: Path | None, watch: bool, as_json: bool) -> service.Status:
    with user_errors(as_json):
        found = service.status(collaborators, flags, window)
        if chart and not found.metrics_error:
            _draw(collaborators, found, chart)
    if watch and not as_json:
        click.echo(CLEAR + time.strftime("%H:%M:%S ") + f"stack {ctx.stack_name} (Ctrl-C to stop)\n", nl=False)
    emit(as_json, _status_data(ctx.stack_name, found), _status_text(found, describe_duration(window)))
    if chart and not as_json and not found.metrics_error:
        click.echo(f"chart written to {chart}")
    if watch and found.metrics_error:
        click.echo(f"metrics unavailable: {found.metrics_error}", err=True)
    return found


def _draw(collaborators: service.Collaborators, found: service.Status, path: Path) -> None:
    from canary import chart

    config = found.config
    source = collaborators.backend.metrics(config)
    series = {name: source.series(config.endpoint.name, name, found.window) for name in config.model_names}
    routing = config.routing
    title = f"{config.endpoint.name}: live {routing.live}" + (f", canary {routing.canary.version} "
                                                              f"{routing.canary.percent:g} %" if routing.canary else "")
    chart.draw(series, title, found.thresholds, found.run, path, live=routing.live, window_seconds=found.window)


@main.command()
@stack_option
@click.argument("version")
@click.option("--percent", type=Percent(), required=True, help="Share of API traffic for VERSION, in (0, 100].")
@click.option("--sticky", is_flag=True, help="Route by user (same user, same version) instead of per request.")
@dry_run_option
@cloud_step_options
@click.pass_obj
def start(ctx: Context, version: str, percent: float, sticky: bool, dry_run: bool, as_json: bool) -> None:
    """Send PERCENT of traffic to model VERSION."""
    with user_errors(as_json):
        outcome = service.start(collaborators_for(ctx, as_json), version, percent, sticky, dry_run,
                                show_change(ctx, as_json))
    finish_change(ctx, as_json, outcome)


@main.command("set")
@stack_option
@click.option("--percent", type=Percent(), required=True, help="New share of API traffic for the canary, in (0, 100].")
@dry_run_option
@cloud_step_options
@click.pass_obj
def set_command(ctx: Context, percent: float, dry_run: bool, as_json: bool) -> None:
    """Change the running canary's share of traffic."""
    with user_errors(as_json):
        outcome = service.set_percent(collaborators_for(ctx, as_json), percent, dry_run, show_change(ctx, as_json))
    finish_change(ctx, as_json, outcome)


@main.command()
@stack_option
@thresholds_options
@compare_command.quality_gate_options
@click.option("--force", is_flag=True, help="Promote even when the analysis fails or is inconclusive.")
@click.option("--full", is_flag=True,
              help="Finish the run in progress now: promote its candidate, skipping the steps left.")
@click.option("--timeout", type=Duration(), default="15m", show_default=True,
              help="With --full: how long to wait for the run to finish.")
@dry_run_option
@cloud_step_options
@click.pass_obj
def promote(ctx: Context, window: float, force: bool, full: bool, timeout: float, dry_run: bool, as_json: bool,
            quality: bool | None, **kwargs) -> None:
    """Make the canary live, if its metrics (and, with a quality gate, its predictions) hold up; the
    old version stays for rollback. During a run: --full.

    A refusal exits 3 (failing analysis) or 4 (inconclusive)."""
    collaborators = collaborators_for(ctx, as_json)
    if full:
        with user_errors(as_json):
            ended = service.promote_full(collaborators, timeout, show_change(ctx, as_json))
        _ended(as_json, ended)
        return
    if force:
        collaborators.say("forced: promoting without looking at the metrics")
    with user_errors(as_json):
        ask = service.QualityAsk(quality, compare_command.quality_flags(kwargs))
        outcome = service.promote(collaborators, threshold_flags(kwargs), window, force, dry_run,
                                  show_change(ctx, as_json), ask)
    finish_change(ctx, as_json, outcome)


@main.command()
@stack_option
@dry_run_option
@cloud_step_options
@click.pass_obj
def rollback(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Stop the canary, or flip back to the version live before the last promotion."""
    with user_errors(as_json):
        outcome = service.rollback(collaborators_for(ctx, as_json), dry_run, show_change(ctx, as_json))
    finish_change(ctx, as_json, outcome)


@main.command()
@stack_option
@click.argument("version")
@dry_run_option
@cloud_step_options
@click.pass_obj
def retire(ctx: Context, version: str, dry_run: bool, as_json: bool) -> None:
    """Remove model VERSION from the endpoint (it must serve no traffic)."""
    with user_errors(as_json):
        outcome = service.retire(collaborators_for(ctx, as_json), version, dry_run, show_change(ctx, as_json))
    finish_change(ctx, as_json, outcome)


def _weights(steps: str) -> list[float]:
    try:
        return [Percent().convert(part.strip(), None, None) for part in steps.split(",")]
    except click.BadParameter as error:
        raise click.BadParameter(f"{steps!r} is not a comma-separated list of percents in (0, 100] "
                                 f"({error.message})", param_hint="--steps") from None


@main.command()
@stack_option
@click.argument("version", required=False)
@click.option("--steps", default="5,25,50", show_default=True, help="Canary weights, in order (percents).")
@click.option("--bake", type=Duration(), default="10m", show_default=True, help="How long each weight bakes.")
@click.option("--interval", type=Duration(), default="30s", show_default=True,
              help="Analyse this often during each bake.")
@click.option("--failure-limit", type=click.IntRange(0), default=0, show_default=True,
              help="Failed measurements tolerated during a bake; one more rolls back at once.")
@click.option("--sticky", is_flag=True, help="Route by user (same user, same version) instead of per request.")
@click.option("--resume", is_flag=True,
              help="Continue the interrupted run recorded for this stack from the step it reached.")
@click.option("--retry", is_flag=True, help="Run the version of the recorded run that failed or was aborted "
                                            "again, from the start.")
@thresholds_options
@compare_command.quality_gate_options
@click.option("--dry-run", is_flag=True, help="Check the rollout and print its schedule; change nothing.")
@cloud_step_options
@click.pass_obj
def run(ctx: Context, version: str | None, steps: str, bake: float, interval: float, failure_limit: int,
        sticky: bool, resume: bool, retry: bool, window: float, dry_run: bool, as_json: bool, quality: bool | None,
        **kwargs) -> None:
    """Roll VERSION out step by step; a failing analysis, an error, `canary abort`, Ctrl-C, SIGTERM or
    SIGHUP (the terminal closing) rolls it back.

    The run's state is written beside the stack file (`canary status` shows it)."""
    if version is None and not (resume or retry):
        raise click.UsageError("give the VERSION to roll out, or --resume, or --retry")
    if resume and retry:
        raise click.UsageError("--resume continues an interrupted run, --retry runs a failed one again: pick one")
    if interval <= 0:
        raise click.BadParameter("must be more than 0 s", param_hint="--interval")
    ask = service.QualityAsk(quality, compare_command.quality_flags(kwargs))
    request = service.RunRequest(version, _weights(steps), bake, interval, failure_limit, window, sticky,
                                 threshold_flags(kwargs), resume, ask, retry)
    collaborators = collaborators_for(ctx, as_json, events=not dry_run)
    with user_errors(as_json):
        state = service.prepare_run(collaborators, request)
    if dry_run:
        schedule = report.schedule_lines(state)
        emit(as_json, {"version": state.version, "fromStep": state.step, "fromPosition": state.position,
                       "steps": [step.to_json() for step in state.steps[state.position:]], "schedule": schedule},
             "\n".join(f"  {line}" for line in schedule) + "\nthen promote; dry run: nothing changed")
        return
    with user_errors(as_json):
        state = service.run(collaborators, state)
    if as_json:  # in text, the run has said how it ended
        event(("ended", {"run": state.to_json()}))
    if state.status is RunStatus.ROLLBACK_FAILED:
        sys.exit(EXIT_ROLLBACK_FAILED)
    sys.exit(ENDED_EXIT.get(state.ended_by.value, 1))


@main.command()
@stack_option
@click.option("--timeout", type=Duration(), default="15m", show_default=True,
              help="How long to wait for the run to roll its candidate back.")
@click.pass_obj
def abort(ctx: Context, timeout: float, as_json: bool) -> None:
    """Stop the run in progress now and roll its candidate back (exits 0 once it is rolled back).

    A run whose process is gone (killed, its machine lost) is rolled back by this command."""
    with user_errors(as_json):
        ended = service.abort(collaborators_for(ctx, as_json), timeout)
    _ended(as_json, ended)


@main.command()
@stack_option
@click.pass_obj
def pause(ctx: Context, as_json: bool) -> None:
    """Hold the run in progress at its weight: its bake waits, its analyses go on (a failing
    candidate is still rolled back). `canary resume` lets it go on."""
    with user_errors(as_json):
        said = service.pause(collaborators_for(ctx, as_json))
    emit(as_json, {"paused": True, "message": said}, said)


@main.command()
@stack_option
@click.pass_obj
def resume(ctx: Context, as_json: bool) -> None:
    """Let a paused run go on (`canary run --resume` is for a run that was interrupted)."""
    with user_errors(as_json):
        said = service.pause(collaborators_for(ctx, as_json), resume=True)
    emit(as_json, {"paused": False, "message": said}, said)


def _ended(as_json: bool, end: service.RunEnd) -> None:
    """How a run that a command ended stands: its record, and a non-zero exit unless it ended as asked."""
    emit(as_json, end.document, end.text)
    if end.rollback_failed:
        sys.exit(EXIT_ROLLBACK_FAILED)


main.add_command(compare_command.compare)
