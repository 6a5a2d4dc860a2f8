"""``ratings local``: run the whole API on this machine, and exercise it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from core import stack_file
from core.config import StackConfig
from core.fields import ConfigError


def _config(stack: str, project_dir: Path) -> StackConfig:
    try:
        return stack_file.load(stack, project_dir)
    except (stack_file.StackFileError, ConfigError) as error:
        raise click.ClickException(str(error)) from None


@click.group("local")
def local_group() -> None:
    """The embedded default: the API locally, from Pulumi.local.yaml."""


@local_group.command("up")
@click.option("--stack", default=stack_file.DEFAULT_STACK, show_default=True)
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def up_command(stack: str, project_dir: Path) -> None:
    """Train missing versions, start model servers, the runtime and the gateway; Ctrl-C stops."""
    from emulator import local, processes

    _config(stack, project_dir)
    try:
        local.run(stack_file.stack_path(stack, project_dir), project_dir.resolve(), echo=click.echo)
    except processes.StartError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot start the local API: {error}") from None


@local_group.command("demo")
@click.option("--stack", default=stack_file.DEFAULT_STACK, show_default=True)
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--requests", "count", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
def demo_command(stack: str, project_dir: Path, count: int, concurrency: int) -> None:
    """Send a burst of requests to the running local API and show the split by version."""
    from emulator import demo

    config = _config(stack, project_dir)
    url = f"http://127.0.0.1:{config.local.gateway_port}/{config.api.stage_name}/predicted-ratings"
    outcomes = asyncio.run(demo.burst(url, count, concurrency))
    if all(o.status == 0 for o in outcomes):
        raise click.ClickException(f"nothing answers at {url}; start it with `make local`")
    canary = config.routing.canary
    click.echo(f"{count} requests to {url}, {concurrency} at a time; configured: live {config.routing.live}"
               + (f", canary {canary.version} at {canary.percent:g} % ({canary.mode.value})" if canary else ""))
    click.echo(demo.table(outcomes))
