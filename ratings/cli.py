"""``ratings``: one entry point; each area of the project contributes its commands."""

from __future__ import annotations

import click

from emulator.commands import local_group
from emulator.vtl.commands import vtl_group
from ratings.openapi_command import openapi_command
from ratings.policy_command import policy_command
from serving.commands import serve_command
from training.commands import package_command, train_command


@click.group()
@click.version_option(package_name="ratings-api")
def main() -> None:
    """Movie-rating predictions behind API Gateway and SageMaker, with canary model rollouts."""


main.add_command(openapi_command)
main.add_command(policy_command)
main.add_command(vtl_group)
main.add_command(train_command)
main.add_command(serve_command)
main.add_command(package_command)
main.add_command(local_group)

if __name__ == "__main__":
    main()
