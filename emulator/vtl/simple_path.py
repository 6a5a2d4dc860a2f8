"""The JSONPath expressions templates use every day, evaluated without jsonpath_ng.

``$.predictions[*].scores[0]`` on a 100-item answer costs about 1 ms through jsonpath_ng (a
context object per match); walking the document directly costs a few microseconds. Only plain
steps are taken here - ``.name``, ``['name']``, ``[n]``, ``[*]`` - and only where each step meets
the type it expects; anything else (filters, slices, recursion, a step on the wrong type) answers
``None`` and the caller asks jsonpath_ng, so results never differ (tests/test_vtl_simple_path.py).
"""

from __future__ import annotations

import functools
import re
from typing import Any

_STEP = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[(?:'([^'\\]*)'|"([^"\\]*)"|(\d+)|(\*))\]""")
_ALL = object()  # the [*] step
_FALLBACK = None


@functools.lru_cache(maxsize=256)
def compile_path(expression: str) -> tuple | None:
    """The steps of a plain path, or None when the expression needs the full JSONPath engine."""
    text = expression.strip()
    if not text.startswith("$"):
        return None
    steps, position = [], 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            return None
        name, single, double, index, star = match.groups()
        steps.append(_ALL if star else int(index) if index is not None else (name or single or double or ""))
        position = match.end()
    return tuple(steps)


def find(steps: tuple, document: Any) -> list | None:
    """Every value the steps reach, in document order; None to let jsonpath_ng decide."""
    values = [document]
    for step in steps:
        reached = []
        for value in values:
            if step is _ALL:
                if not isinstance(value, list):
                    return _FALLBACK
                reached.extend(value)
            elif isinstance(step, int):
                if not isinstance(value, list):
                    return _FALLBACK
                if step < len(value):
                    reached.append(value[step])
            else:
                if not isinstance(value, dict):
                    return _FALLBACK
                if step in value:
                    reached.append(value[step])
        values = reached
    return values
