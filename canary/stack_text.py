"""Rewriting a stack file's text so that a change touches only its own lines.

ruamel.yaml keeps comments and quoting; on top of it, the file's own indentation is detected and
kept, and values are merged into the loaded document in place (a mapping key by key, a list
element by element) rather than replaced, so an unchanged model list is not re-flowed and a
number stays the type it was written as.
"""

from __future__ import annotations

import difflib
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.util import load_yaml_guess_indent


def _yaml(text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was written on one line
    _, sequence_indent, offset = load_yaml_guess_indent(text)
    mapping_indent = next((len(line) - len(line.lstrip(" ")) for line in text.splitlines()
                           if line.startswith(" ") and line.strip() and not line.lstrip().startswith("#")), 2)
    if offset is None:
        sequence_indent, offset = mapping_indent, 0
    yaml.indent(mapping=mapping_indent, sequence=sequence_indent or mapping_indent, offset=offset)
    return yaml


def _same(old: Any, new: Any) -> bool:
    return type(old) is type(new) and old == new if isinstance(new, (int, float)) else old == new


def _merge(node: Any, new: Any) -> Any:
    """``new`` merged into the loaded ``node`` (kept where equal); returns what to store."""
    if isinstance(node, dict) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            if key in node:
                node[key] = _merge(node[key], value)
            else:
                node[key] = value
        return node
    if isinstance(node, list) and isinstance(new, list):
        kept = _subsequence(node, new)
        if kept is not None:
            for index in reversed([i for i in range(len(node)) if i not in kept]):
                del node[index]
            return node
        if len(node) == len(new):
            for index, value in enumerate(new):
                node[index] = _merge(node[index], value)
            return node
        return new
    return node if _same(node, new) else new


def _subsequence(old: list, new: list) -> set[int] | None:
    """Indexes of ``old`` that make up ``new`` when ``new`` is ``old`` with elements removed."""
    if len(new) >= len(old):
        return None
    kept, position = set(), 0
    for index, value in enumerate(old):
        if position < len(new) and value == new[position]:
            kept.add(index)
            position += 1
    return kept if position == len(new) else None


def rewrite(text: str, values: dict[str, Any]) -> str:
    """``text`` (a stack file) with its ``config:`` mapping set to ``values``."""
    yaml = _yaml(text)
    document = yaml.load(text)
    document["config"] = _merge(document["config"], values)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def diff(old: str, new: str, name: str) -> list[str]:
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}", n=1)]
