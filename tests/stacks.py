"""Stack config values for tests, read from the example stack files and changed per case."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from core import stack_file

ROOT = Path(__file__).resolve().parent.parent


def example(stack: str) -> dict[str, Any]:
    """A deep copy of the ``config:`` mapping of ``Pulumi.<stack>.yaml``."""
    return copy.deepcopy(dict(stack_file.read(stack_file.stack_path(stack, ROOT)).values))


def with_change(values: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``values`` with ``ratings:<section>.<key>...`` set, or removed when value is DELETE.

    List elements are addressed by index: ``ratings:models.1.name``.
    """
    changed = copy.deepcopy(values)
    head, *path = dotted.split(".")
    if not path:
        _assign(changed, head, value)
        return changed
    node = changed[head]
    for key in path[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    _assign(node, path[-1], value)
    return changed


class _Delete:
    """The value that removes a setting; its repr keeps test ids the same in every process."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


def _assign(node: Any, key: str, value: Any) -> None:
    if isinstance(node, list):
        node[int(key)] = value
    elif value is DELETE:
        node.pop(key, None)
    else:
        node[key] = value


USER_POOL_ARN = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123"
CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
DOMAIN = {"name": "ratings.example.com", "certificateArn": CERTIFICATE_ARN, "hostedZoneId": "Z0123456789ABCDEFGHIJ"}
EDGE = "prod"  # the stack file the edge example starts from


def edge_example() -> dict[str, Any]:
    """The prod example with every optional part of the API's edge: its web ACL, a custom domain with
    its alias record, the stage cache, and a Cognito user pool authorizer (in place of API keys)."""
    values = with_change(example(EDGE), "ratings:api.domain", DOMAIN)
    values = with_change(values, "ratings:api.cache", {"sizeGb": 0.5, "ttlSeconds": 300})
    values = with_change(values, "ratings:api.auth", "cognito")
    values = with_change(values, "ratings:api.quota", DELETE)
    return with_change(values, "ratings:api.cognito", {"userPoolArn": USER_POOL_ARN})
