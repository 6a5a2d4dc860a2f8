"""``ratings iam-policy``: the least-privilege IAM policy for deploying or operating a stack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from core import permissions, stack_file
from core.fields import ConfigError
from ratings.text_output import put

ACCOUNT_ID = re.compile(r"\d{12}")
# IAM and AWS STS quotas: a managed policy holds at most 6,144 characters, whitespace not counted
MANAGED_POLICY_CHARACTERS = 6144
MSG_NO_ACCOUNT = ("the policy names the account's resources: pass --account-id (12 digits), or run with AWS "
                  "credentials so STS can tell ({reason})")
MSG_TOO_LONG = ("note: this policy has {size:,} characters, more than a managed policy's {limit:,}; attach it as an "
                "inline policy of the role (up to 10,240) or split its statements")


@click.command("iam-policy")
@click.option("--stack", required=True, help="Stack whose Pulumi.<stack>.yaml names the resources.")
@click.option("--for", "reader", type=click.Choice([r.value for r in permissions.Reader]), default="deployer",
              show_default=True,
              help="deployer: `pulumi up`, preview, refresh, destroy; operator: `canary` (which runs `pulumi up` too).")
@click.option("--account-id", default=None, help="AWS account of the stack (default: asked of STS).")
@click.option("--explain", is_flag=True, help="Print why each statement is there instead of the policy.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the policy here instead of standard output.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory holding the Pulumi project.")
def policy_command(stack: str, reader: str, account_id: str | None, explain: bool, output: Path | None,
                   project_dir: Path) -> None:
    """Print the IAM policy a deployer or an operator of STACK needs, naming the stack's resources."""
    try:
        config = stack_file.load(stack, project_dir)
    except (stack_file.StackFileError, ConfigError) as error:
        raise click.ClickException(str(error)) from None
    if explain:
        click.echo(permissions.explain(permissions.Reader(reader), config), nl=False)
        return
    account = account_id or _caller_account(config.region)
    if not ACCOUNT_ID.fullmatch(account):
        raise click.ClickException(f"--account-id: {account!r} is not a 12-digit AWS account id")
    document = permissions.policy(permissions.Reader(reader), permissions.Scope(account, config))
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MANAGED_POLICY_CHARACTERS:
        click.echo(MSG_TOO_LONG.format(size=size, limit=MANAGED_POLICY_CHARACTERS), err=True)
    put(permissions.render(document), output, f"{reader} of stack {stack}, account {account}")


def _caller_account(region: str) -> str:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise click.ClickException(MSG_NO_ACCOUNT.format(reason="boto3 is not installed")) from None
    try:
        return str(boto3.client("sts", region_name=region).get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as error:
        raise click.ClickException(MSG_NO_ACCOUNT.format(reason=str(error).splitlines()[0])) from None
