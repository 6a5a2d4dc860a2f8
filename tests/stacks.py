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
