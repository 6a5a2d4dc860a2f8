"""The pieces every `canary` command shares: option types and groups, the error-to-exit mapping,
the console and collaborators handed to canary.service, and printing (text or ``--json``).

Under ``--json`` standard output carries exactly one JSON document; everything said along the way
(progress, a cloud step's preview, Pulumi's own output, questions) goes to standard error.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from canary import report, service
from canary.backends import Backend, for_stack
from canary.cloud import CloudOptions
from canary.stacks import ApplyError
from core.analysis import Verdict
from core.fields import ConfigError
from core.metrics import MetricsError
from core.plans import Refusal
from core.routing import percent_problem
from core.run_state import RunStateError
from core.schedule import parse_duration
from core.stack_file import StackFileError
from core.thresholds import AnalysisThresholds

WINDOW = "10m"
EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_ROLLBACK_FAILED, EXIT_ABORTED = 3, 4, 5, 6
VERDICT_EXIT = {Verdict.PASS: 0, Verdict.FAIL: EXIT_FAIL, Verdict.INCONCLUSIVE: EXIT_INCONCLUSIVE}
ENDED_EXIT = {"promoted": 0, "fail": EXIT_FAIL, "inconclusive": EXIT_INCONCLUSIVE, "aborted": EXIT_ABORTED,
              "SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}
CLEAR = "\x1b[H\x1b[2J"
THRESHOLD_FLAGS = ("min_requests", "max_error_ratio", "min_error_rate", "min_traffic_share", "alpha",
                   "max_slow_ratio", "max_latency_ratio", "latency_floor_ms")
META_YES, META_ALLOW_REPLACE = "canary.yes", "canary.allow_replace"


@dataclass
class Context:
    backend: Backend
    project_dir: Path
    stack_for: Callable[[str, Path], Backend] = for_stack

    @property
    def stack_name(self) -> str:
        return self.backend.stack.name


class Exit(click.ClickException):
    """A message and a chosen exit code (a verdict's)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]  # click declares it a ClassVar, reads it per instance


@contextlib.contextmanager
def user_errors(as_json: bool = False) -> Iterator[None]:
    """Every expected failure becomes one line and a non-zero exit, never a traceback; under
    ``--json`` also one document on standard output (``error``, ``refused``, ``exitCode``), so a
    script reads a refusal the way it reads a success."""
    try:
        yield
    except service.VerdictRefusal as refusal:
        raise _said(as_json, Exit(f"refused: {refusal}", VERDICT_EXIT[refusal.result.verdict]), True) from None
    except Refusal as refusal:
        raise _said(as_json, click.ClickException(f"refused: {refusal}"), True) from None
    except (ApplyError, StackFileError, ConfigError, MetricsError, RunStateError) as error:
        raise _said(as_json, click.ClickException(str(error)), False) from None


def _said(as_json: bool, error: click.ClickException, refused: bool) -> click.ClickException:
    if as_json:
        click.echo(json.dumps({"error": error.message, "refused": refused, "exitCode": error.exit_code}))
    return error


class Percent(click.ParamType):
    name = "percent"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        problem = percent_problem(number, "percent")
        if problem:
            self.fail(problem, param, ctx)
        return number


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


class ClickConsole:
    """The person at the terminal: messages on standard output, or standard error under ``--json``."""

    def __init__(self, as_json: bool):
        self.err = as_json

    def say(self, line: str) -> None:
        click.echo(line, err=self.err)

    def confirm(self, question: str) -> bool:
        try:
            return click.confirm(question, default=False, err=True)
        except click.Abort:  # Ctrl-C or end of input at the question: not applied
            return False


def cloud_options() -> CloudOptions:
    """`--yes` and `--allow-replace` as the command got them, and whether anyone can be asked."""
    click_context = click.get_current_context(silent=True)
    meta = click_context.meta if click_context is not None else {}
    return CloudOptions(yes=bool(meta.get(META_YES)), allow_replace=bool(meta.get(META_ALLOW_REPLACE)),
                        interactive=sys.stdin.isatty())


class EventConsole(ClickConsole):
    """`run --json`: one JSON event per line on standard output, as a CI log or a script reads a
    long run while it goes (``{"event": "message", "time": ..., "text": ...}``); the run's record
    ends it as ``{"event": "ended", "run": {...}}``."""

    def __init__(self) -> None:
        super().__init__(as_json=True)

    def say(self, line: str) -> None:
        event(("message", {"time": round(time.time(), 3), "text": line}))


def event(item: tuple[str, dict[str, Any]]) -> None:
    name, fields = item
    click.echo(json.dumps({"event": name, **fields}, separators=(",", ":")))


def console_for(as_json: bool, events: bool = False) -> ClickConsole:
    """``events``: a long command under --json speaks in JSON lines (EventConsole)."""
    return EventConsole() if as_json and events else ClickConsole(as_json)


def collaborators_for(ctx: Context, as_json: bool, events: bool = False) -> service.Collaborators:
    return service.Collaborators(ctx.backend, console_for(as_json, events), cloud_options())


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


def stack_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--stack` is accepted after the command too (canary promote --stack prod)."""
    def override(click_context: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            ctx = click_context.find_object(Context)
            assert ctx is not None
            ctx.backend = ctx.stack_for(value, ctx.project_dir)
        return value

    command = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (messages go to "
                           "standard error).")(command)
    return click.option("--stack", "stack_override", default=None, expose_value=False, callback=override,
                        is_eager=True, help="Stack to use (same as the option before the command).")(command)


def cloud_step_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--yes` and `--allow-replace` on a mutating command; read back with ``cloud_options``."""
    def remember(key: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
        def callback(click_context: click.Context, _param: click.Parameter, value: bool) -> bool:
            click_context.meta[key] = value
            return value
        return callback

    command = click.option("--allow-replace", is_flag=True, expose_value=False, callback=remember(META_ALLOW_REPLACE),
                           help="Apply even if the preview replaces or deletes the endpoint, API or stage.")(command)
    return click.option("--yes", "-y", is_flag=True, expose_value=False, callback=remember(META_YES),
                        help="Apply a cloud stack's previewed change without asking.")(command)


def thresholds_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Analysis flags; each one left out comes from the stack's routing.analysis, then the built-in default."""
    defaults = AnalysisThresholds()
    for option in reversed([
        click.option("--window", type=Duration(), default=WINDOW, show_default=True,
                     help="How far back the analysis looks (30s, 10m, 1h)."),
        click.option("--min-requests", type=click.IntRange(1), default=None,
                     help=f"Fewer candidate requests than this: inconclusive [routing.analysis.minRequests, "
                          f"else {defaults.min_requests}]."),
        click.option("--max-error-ratio", type=click.FloatRange(1), default=None,
                     help=f"Candidate 5xx rate may be this many times live's [routing.analysis.maxErrorRatio, "
                          f"else {defaults.max_error_ratio:g}] ..."),
        click.option("--min-error-rate", type=click.FloatRange(0, 1), default=None,
                     help=f"... and a candidate under this 5xx rate is never failed for errors "
                          f"[routing.analysis.minErrorRate, else {defaults.min_error_rate:g}]."),
        click.option("--min-traffic-share", type=click.FloatRange(0, 1), default=None,
                     help=f"Part of its weight's share the candidate must answer (run only) "
                          f"[routing.analysis.minTrafficShare, else {defaults.min_traffic_share:g}]."),
        click.option("--alpha", type=click.FloatRange(1e-9, 0.5), default=None,
                     help=f"Chance per step of failing a candidate as good as live [routing.analysis.alpha, "
                          f"else {defaults.alpha:g}]."),
        click.option("--max-slow-ratio", type=click.FloatRange(1), default=None,
                     help=f"Candidate's share of requests slower than live's p95 may be this many times live's, "
                          f"where histograms are kept (locally) [routing.analysis.maxSlowRatio, else "
                          f"{defaults.max_slow_ratio:g}]."),
        click.option("--max-latency-ratio", type=click.FloatRange(1), default=None,
                     help=f"Highest acceptable candidate/live p99 ratio [routing.analysis.maxLatencyRatio, else "
                          f"{defaults.max_latency_ratio:g}] ..."),
        click.option("--latency-floor-ms", type=click.FloatRange(0), default=None,
                     help=f"... applied once the candidate's p99 exceeds this [routing.analysis.latencyFloorMs, "
                          f"else {defaults.latency_floor_ms:g}]."),
    ]):
        command = option(command)
    return command


def threshold_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name) for name in THRESHOLD_FLAGS}


def dry_run_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--dry-run", is_flag=True, help="Show the change, apply nothing.")(command)


def show_change(ctx: Context, as_json: bool) -> Callable[[service.Outcome], None]:
    """Print a change before it applies (a cloud stack asks for confirmation after it)."""
    def show(outcome: service.Outcome) -> None:
        if not as_json:
            text = report.change_text(ctx.stack_name, outcome.plan, applied=False)
            click.echo(text.rsplit("\n", 1)[0])
    return show


def finish_change(ctx: Context, as_json: bool, outcome: service.Outcome) -> None:
    if as_json:
        emit(True, report.change_json(ctx.stack_name, outcome.plan, outcome.applied, outcome.analysis), "")
    else:
        click.echo("applied" if outcome.applied else "dry run: nothing changed")
