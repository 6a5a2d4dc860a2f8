"""Java semantics for values inside mapping templates.

API Gateway runs templates on Java Velocity, so strings split by regex and drop trailing empty
parts, ``hashCode`` is Java's 32-bit hash, maps print as ``{k=v}`` and doubles as ``1.0E20``.
Template values are wrapped in these small types so airspeed (a Python engine) behaves the same.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

MAX_INT = 2**31


class VtlError(Exception):
    """A template failed the way API Gateway would fail it (rendered as a 5xx there)."""


@functools.lru_cache(maxsize=256)
def java_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Java regex; the common syntax is shared with Python's ``re``."""
    translated = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), str(pattern), flags=re.S)
    try:
        return re.compile(translated)
    except re.error as error:
        raise VtlError(f"invalid regular expression {pattern!r}: {error}") from None


def utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]


class JString(str):
    """A java.lang.String: the methods templates use, with Java's results."""

    def split(self, regex: str, limit: int = 0) -> JList:  # type: ignore[override]
        pattern = java_regex(regex)
        parts: list[str] = []
        index = 0
        for match in pattern.finditer(self):
            if limit > 0 and len(parts) == limit - 1:
                break
            if match.end() == 0:  # a zero-width match at the start yields no leading empty part
                continue
            parts.append(self[index:match.start()])
            index = match.end()
        if not parts:
            return JList([JString(self)])
        parts.append(self[index:])
        if limit == 0:
            while parts and parts[-1] == "":
                parts.pop()
        return JList(JString(part) for part in parts)

    def matches(self, regex: str) -> bool:
        return java_regex(regex).fullmatch(self) is not None

    def trim(self) -> JString:
        start, end = 0, len(self)
        while start < end and self[start] <= " ":
            start += 1
        while end > start and self[end - 1] <= " ":
            end -= 1
        return JString(self[start:end])

    def length(self) -> int:
        return len(utf16_units(self))

    def isEmpty(self) -> bool:  # noqa: N802 (Java name)
        return len(self) == 0

    def hashCode(self) -> int:  # noqa: N802
        value = 0
        for unit in utf16_units(self):
            value = (31 * value + unit) & 0xFFFFFFFF
        return value - 2**32 if value >= MAX_INT else value

    def contains(self, text: Any) -> bool:
        return java_str(text) in self

    def equals(self, other: Any) -> bool:
        return isinstance(other, str) and str(self) == str(other)

    def startsWith(self, prefix: str) -> bool:  # noqa: N802
        return self.startswith(prefix)

    def endsWith(self, suffix: str) -> bool:  # noqa: N802
        return self.endswith(suffix)

    def indexOf(self, text: str) -> int:  # noqa: N802
        return self.find(text)

    def lastIndexOf(self, text: str) -> int:  # noqa: N802
        return self.rfind(text)

    def equalsIgnoreCase(self, other: Any) -> bool:  # noqa: N802
        return isinstance(other, str) and self.lower() == other.lower()

    def concat(self, other: str) -> JString:
        return JString(str(self) + str(other))

    def toLowerCase(self) -> JString:  # noqa: N802
        return JString(self.lower())

    def toUpperCase(self) -> JString:  # noqa: N802
        return JString(self.upper())

    def replace(self, old: str, new: str) -> JString:  # type: ignore[override]
        return JString(str.replace(self, str(old), str(new)))

    def replaceAll(self, regex: str, replacement: str) -> JString:  # noqa: N802
        python_replacement = re.sub(r"\$(\d)", r"\\g<\1>", str(replacement).replace("\\", "\\\\"))
        return JString(java_regex(regex).sub(python_replacement, self))

    def substring(self, start: int, end: int | None = None) -> JString:
        """Java indexes strings by UTF-16 unit; a cut through a surrogate pair leaves half of it."""
        data = self.encode("utf-16-le", "surrogatepass")
        length = len(data) // 2
        end = length if end is None else end
        if not 0 <= start <= end <= length:
            raise VtlError(f"substring({start}, {end}) out of range for length {length}")
        return JString(data[2 * start:2 * end].decode("utf-16-le", "surrogatepass"))

    def charAt(self, index: int) -> JString:  # noqa: N802
        return self.substring(index, index + 1)

    def toString(self) -> JString:  # noqa: N802
        return self


class JList(list):
    """A java.util.List (list literals, ranges, split results): prints as ``[a, b]``."""

    def size(self) -> int:
        return len(self)

    def get(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise VtlError(f"index {index} out of range for size {len(self)}")
        return self[index]

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def contains(self, value: Any) -> bool:
        return value in self

    def add(self, value: Any) -> bool:
        self.append(value)
        return True

    def set(self, index: int, value: Any) -> Any:
        """List.set: replaces in place and returns the element it replaced."""
        previous = self.get(index)
        self[index] = value
        return previous

    def indexOf(self, value: Any) -> int:  # noqa: N802
        return self.index(value) if value in self else -1

    def remove(self, item: Any) -> Any:
        """List.remove: by position for an int (returns the element), else by value."""
        if isinstance(item, int) and not isinstance(item, bool):
            previous = self.get(item)
            del self[item]
            return previous
        if item in self:
            list.remove(self, item)
            return True
        return False

    def addAll(self, values: Any) -> bool:  # noqa: N802
        self.extend(values)
        return bool(values)


class JsonArray(JList):
    """A JSON array from ``$input.path`` or ``$util.parseJson``: prints as JSON."""


class JMap(dict):
    """A java.util.Map (JSON objects, parameter maps, stage variables)."""

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802
        return not self

    def containsKey(self, key: Any) -> bool:  # noqa: N802
        return key in self

    def keySet(self) -> JList:  # noqa: N802
        return JList(self.keys())

    def values(self) -> JList:  # type: ignore[override]
        return JList(dict.values(self))

    def entrySet(self) -> JList:  # noqa: N802
        return JList(MapEntry(key, value) for key, value in self.items())

    def put(self, key: Any, value: Any) -> Any:
        """Map.put: returns the value it replaced (null when the key was new)."""
        previous = dict.get(self, key)
        self[key] = value
        return previous

    def putAll(self, other: dict) -> None:  # noqa: N802
        for key, value in other.items():
            self[key] = value

    def remove(self, key: Any) -> Any:
        return self.pop(key, None)

    def containsValue(self, value: Any) -> bool:  # noqa: N802
        return value in dict.values(self)

    def toString(self) -> str:  # noqa: N802
        return java_str(self)


class ContextObject(JMap):
    """One of ``$context``'s nested objects (identity, requestOverride and its maps ...). API
    Gateway lists and reads their keys but prints the objects themselves as empty text
    (LocalStack's recorded test_sqs_amz_json_protocol)."""


class MapEntry:
    """A java.util.Map.Entry: ``$e.key`` / ``$e.value``, printed ``key=value``."""

    def __init__(self, key: Any, value: Any):
        self.key, self.value = key, value

    def getKey(self) -> Any:  # noqa: N802
        return self.key

    def getValue(self) -> Any:  # noqa: N802
        return self.value

    def __str__(self) -> str:
        return f"{java_str(self.key)}={java_str(self.value)}"


def wrap(value: Any) -> Any:
    """Java-typed copy of a parsed JSON value."""
    if isinstance(value, str):
        return JString(value)
    if isinstance(value, dict):
        return JMap((JString(k), wrap(v)) for k, v in value.items())
    if isinstance(value, list):
        return JsonArray(wrap(v) for v in value)
    return value


def java_double(value: float) -> str:
    """Double.toString: plain between 1e-3 and 1e7, else computerized scientific notation."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text:
            text = f"{value:.17f}".rstrip("0")
        return text if "." in text else text + ".0"
    exponent = int(f"{value:e}".split("e")[1])
    return f"{_mantissa(value)}E{exponent}"


def _mantissa(value: float) -> str:
    """The shortest round-trip digits of ``value`` as d.ddd (Python's repr picks them)."""
    digits = repr(abs(value)).split("e")[0].replace(".", "").lstrip("0") or "0"
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:].rstrip('0') or '0'}"


def java_str(value: Any) -> str:
    """How Java Velocity prints a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, ContextObject):
        return ""
    if isinstance(value, JsonArray):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_str(k)}={java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_str(v) for v in value) + "]"
    return str(value)
