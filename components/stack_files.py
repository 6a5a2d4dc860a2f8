"""Reading ``Pulumi.<stack>.yaml`` without the Pulumi engine (local runtime, CLIs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components import config as stack_config

# The one default stack of every command (`ratings ...`, `canary ...`): the embedded local runtime,
# which needs no AWS account; cloud stacks are always named explicitly with --stack.
DEFAULT_STACK = "local"

MSG_NO_FILE = "stack file {path} not found; create it or pass --stack with an existing stack"
MSG_BAD_YAML = "stack file {path} is not valid YAML: {reason}"
MSG_NO_CONFIG = "stack file {path} has no 'config:' mapping"


class StackFileError(ValueError):
    """A stack file that cannot be read (missing, not YAML, wrong shape)."""


def stack_path(stack: str, project_dir: Path | str = ".") -> Path:
    return Path(project_dir) / f"Pulumi.{stack}.yaml"


def read_values(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, as plain values."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackFileError(MSG_NO_FILE.format(path=path)) from None
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise StackFileError(MSG_BAD_YAML.format(path=path, reason=reason)) from None
    values = document.get("config") if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise StackFileError(MSG_NO_CONFIG.format(path=path))
    return values


def load(stack: str, project_dir: Path | str = ".") -> stack_config.StackConfig:
    """Parse and validate a stack's config; raises StackFileError or ConfigError."""
    return stack_config_of(stack_path(stack, project_dir))


def stack_config_of(path: Path) -> stack_config.StackConfig:
    return stack_config.parse(read_values(path))
