"""``ratings openapi``: write a stack's OpenAPI document for clients and the local runtime."""

from __future__ import annotations

from pathlib import Path

import click

from core import openapi, stack_file
from core.fields import ConfigError
from ratings.text_output import put

PLACEHOLDER_ROLE = "arn:{partition}:iam::000000000000:role/{endpoint}-api-invoke-role"


@click.command("openapi")
@click.option("--stack", default=stack_file.DEFAULT_STACK, show_default=True,
              help="Stack whose Pulumi.<stack>.yaml to read.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("openapi.json"),
              show_default=True, help="Where to write the document ('-' for standard output).")
@click.option("--role-arn", default=None,
              help="Integration credentials to embed (default: a placeholder; `pulumi up` embeds the real role).")
@click.option("--partition", default="aws", show_default=True, help="AWS partition of the ARNs.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory holding the Pulumi project.")
def openapi_command(stack: str, output: Path, role_arn: str | None, partition: str, project_dir: Path) -> None:
    """Write the OpenAPI document that `pulumi up` deploys for STACK."""
    try:
        config = stack_file.load(stack, project_dir)
    except (stack_file.StackFileError, ConfigError) as error:
        raise click.ClickException(str(error)) from None
    role = role_arn or PLACEHOLDER_ROLE.format(partition=partition, endpoint=config.endpoint.name)
    integration = openapi.Integration(config.endpoint.name, role, config.region, partition)
    text = openapi.render(openapi.build_document(config.api, openapi.Templates.load(), integration))
    put(text, output, f"{stack} stack, endpoint {config.endpoint.name}")
