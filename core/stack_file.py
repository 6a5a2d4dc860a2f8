"""``Pulumi.<stack>.yaml`` without the Pulumi engine: one read gives the text, the plain values and
the typed config; one writer puts changed values back.

One YAML library does both: ruamel.yaml's round-trip loader keeps comments and quoting, so the
document read is the one rewritten. On top of it the file's own indentation is detected and kept,
and new values are merged into the loaded document in place (a mapping key by key, a list
element by element) rather than replacing it, so a change touches only its own lines: an
unchanged model list is not re-flowed and a number stays the type it was written as.
"""

from __future__ import annotations

import copy
import difflib
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from core import config as stack_config
from core.files import write_atomic

# The one default stack of every command (`ratings ...`, `canary ...`): the embedded local runtime,
# which needs no AWS account; cloud stacks are always named explicitly with --stack.
DEFAULT_STACK = "local"

MSG_NO_FILE = "stack file {path} not found; create it or pass --stack with an existing stack"
MSG_BAD_YAML = "stack file {path} is not valid YAML: {reason}"
MSG_NO_CONFIG = "stack file {path} has no 'config:' mapping"
MSG_UNREADABLE = "stack file {path} cannot be read: {reason}"


class StackFileError(ValueError):
    """A stack file that cannot be read (missing, not YAML, wrong shape)."""


def stack_path(stack: str, project_dir: Path | str = ".") -> Path:
    return Path(project_dir) / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackDocument:
    """One read of a stack file: its text, its ``config:`` values as plain data, and the loaded
    round-trip document that the writer merges changes into."""

    path: Path
    text: str
    values: Mapping[str, Any]
    _loaded: Any = field(repr=False, compare=False)
    _yaml: YAML = field(repr=False, compare=False)

    @functools.cached_property
    def config(self) -> stack_config.StackConfig:
        """The validated config; raises ConfigError listing every problem."""
        return stack_config.parse(self.values)

    def render(self, values: Mapping[str, Any]) -> str:
        """The file's text with ``values`` as its config, changing only the lines that must change."""
        document = copy.deepcopy(self._loaded)
        document["config"] = _merge(document["config"], values)
        out = io.StringIO()
        self._yaml.dump(document, out)
        return out.getvalue()

    def diff(self, text: str) -> list[str]:
        """A unified diff from this file to ``text``."""
        name = self.path.name
        return [line.rstrip("\n") for line in difflib.unified_diff(
            self.text.splitlines(keepends=True), text.splitlines(keepends=True), f"a/{name}", f"b/{name}", n=1)]


def read(path: Path) -> StackDocument:
    """Read and parse a stack file once; raises StackFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackFileError(MSG_NO_FILE.format(path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(MSG_UNREADABLE.format(path=path, reason=getattr(error, "strerror", None) or error)) \
            from None
    return parse(path, text)


def parse(path: Path, text: str) -> StackDocument:
    yaml = YAML()
    yaml.preserve_quotes = True  # read quoted scalars as quoted, so they are written back quoted
    try:
        loaded, sequence_indent, offset = load_yaml_guess_indent(text, yaml=yaml)
    except YAMLError as error:
        reason = " ".join(str(error).split())
        raise StackFileError(MSG_BAD_YAML.format(path=path, reason=reason)) from None
    values = loaded.get("config") if isinstance(loaded, Mapping) else None
    if not isinstance(values, Mapping):
        raise StackFileError(MSG_NO_CONFIG.format(path=path))
    _keep_layout(yaml, text, sequence_indent, offset)
    return StackDocument(path, text, _plain(values), loaded, yaml)


def load(stack: str, project_dir: Path | str = ".") -> stack_config.StackConfig:
    """Parse and validate a stack's config; raises StackFileError or ConfigError."""
    return read(stack_path(stack, project_dir)).config


def write(path: Path, text: str) -> None:
    """The one writer: atomic, so a reader sees the old file or the new one."""
    write_atomic(path, text)


def _plain(value: Any) -> Any:
    """ruamel's commented containers and scalar subclasses as plain dicts, lists, ints and floats."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _keep_layout(yaml: YAML, text: str, sequence_indent: int | None, offset: int | None) -> None:
    """Write back with the file's own indentation and line lengths."""
    yaml.width = 4096  # never fold a long line that was written on one line
    mapping_indent = next((len(line) - len(line.lstrip(" ")) for line in text.splitlines()
                           if line.startswith(" ") and line.strip() and not line.lstrip().startswith("#")), 2)
    if offset is None:
        sequence_indent, offset = mapping_indent, 0
    yaml.indent(mapping=mapping_indent, sequence=sequence_indent or mapping_indent, offset=offset)


def _same(old: Any, new: Any) -> bool:
    return type(old) is type(new) and old == new if isinstance(new, (int, float)) else bool(old == new)


def _merge(node: Any, new: Any) -> Any:
    """``new`` merged into the loaded ``node`` (kept where equal); returns what to store."""
    if isinstance(node, dict) and isinstance(new, Mapping):
        for key in [k for k in node if k not in new]:
            del node[key]
        for key, value in new.items():
            node[key] = _merge(node[key], value) if key in node else value
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


def _subsequence(old: list[Any], new: list[Any]) -> set[int] | None:
    """Indexes of ``old`` that make up ``new`` when ``new`` is ``old`` with elements removed."""
    if len(new) >= len(old):
        return None
    kept, position = set(), 0
    for index, value in enumerate(old):
        if position < len(new) and value == new[position]:
            kept.add(index)
            position += 1
    return kept if position == len(new) else None
