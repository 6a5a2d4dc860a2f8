"""``ratings``: one entry point; each area of the project contributes its commands."""

from __future__ import annotations

import click

from emulator.commands import local_group
from emulator.vtl.commands import vtl_group
from ratings.openapi_command import openapi_command
from ratings.policy_command import policy_command
from serving.commands import serve_command
from training.commands import package_command, train_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ratings-api")
@click.option("--stack", help="Stack for every command that takes one (also accepted after the command).")
@click.pass_context
def main(click_context: click.Context, stack: str | None) -> None:
    """Movie-rating predictions behind API Gateway and SageMaker, with canary model rollouts."""
    if stack is not None:
        click_context.default_map = _stack_defaults(main, stack)


def _stack_defaults(group: click.Group, stack: str) -> dict:
    """``--stack`` before the command, as the default of every command's own ``--stack``
    (Click's default_map, nested as the commands are)."""
    defaults: dict = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            defaults[name] = _stack_defaults(command, stack)
        elif any(param.name == "stack" for param in command.params):
            defaults[name] = {"stack": stack}
    return defaults


main.add_command(openapi_command)
main.add_command(policy_command)
main.add_command(vtl_group)
main.add_command(train_command)
main.add_command(serve_command)
main.add_command(package_command)
main.add_command(local_group)

if __name__ == "__main__":
    main()
