"""Typed reads from the raw stack config that record problems instead of raising.

Every reader returns a usable value (the default, or ``None``) after a problem, so validation
goes on and the user sees every mistake of a stack file at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)
N = TypeVar("N", int, float)
T = TypeVar("T")

REQUIRED: Any = object()  # the default of a setting that must be given

MSG_MISSING = "{field}: missing; add it to the stack config"
MSG_NOT_MAPPING = "{field}: expected a mapping of settings, got {got}"
MSG_NOT_TEXT = "{field}: expected text, got {got}"
MSG_NOT_INTEGER = "{field}: expected a whole number, got {got}"
MSG_NOT_NUMBER = "{field}: expected a number, got {got}"
MSG_NOT_FLAG = "{field}: expected true or false, got {got}"
MSG_OUT_OF_RANGE = "{field}: {value} is outside {low}..{high}; pick a value in that range"
MSG_NOT_CHOICE = "{field}: {value!r} is not one of {choices}; use one of them"
MSG_UNKNOWN_KEY = "{field}: unknown setting; known settings here: {known}"
MSG_SECRET_HERE = ("{field}: a Pulumi secret here cannot be read by `canary` or the local API, which need its "
                   "value; keep it in plain text (secrets suit values such as notifications.webhook)")
SECURE = "secure"  # a stack file holds a secret as {secure: <ciphertext>}


class ConfigError(ValueError):
    """A stack config with one or more problems; ``problems`` lists them all."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid stack config ({len(self.problems)} problem(s)):\n{lines}")


def describe(value: Any) -> str:
    """A short, type-revealing rendering of a bad value for messages."""
    return f"{type(value).__name__} {value!r}"


class Secret(str):
    """A Pulumi secret as a stack file holds it (``{secure: v1:...}``): ciphertext that only `pulumi up`
    decrypts (the program reads the plain value). Where the config allows one it stays opaque: never
    checked, never shown, and written back as it was read."""

    def __repr__(self) -> str:
        return "Secret(<encrypted>)"


def secret_of(value: Any) -> Secret | None:
    """The Secret in a stack-file value, or None when the value is not a secret."""
    if isinstance(value, Mapping) and set(value) == {SECURE} and isinstance(value[SECURE], str):
        return Secret(value[SECURE])
    return None


def settled(value: T | None) -> T:
    """A value read for the typed model. A reader returns None only after recording a problem, and a
    config with problems is never returned (``parse`` raises ConfigError with all of them), so the
    model built from these values never holds a None it does not declare."""
    return value  # type: ignore[return-value]  # None only alongside a recorded problem


class Section:
    """One mapping of the stack config at a dotted ``path``, sharing one problem list."""

    def __init__(self, raw: Any, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        self.broken = raw is not None and (not isinstance(raw, Mapping) or secret_of(raw) is not None)
        if secret_of(raw) is not None:
            problems.append(MSG_SECRET_HERE.format(field=path))
        elif self.broken:
            problems.append(MSG_NOT_MAPPING.format(field=path, got=describe(raw)))
        if raw is None or self.broken:
            raw = {}
        self.raw: Mapping[str, Any] = raw

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def _get(self, key: str, default: Any, secret: bool = False) -> tuple[bool, Any]:
        """(present, value); records a missing required key, and a secret where none may be."""
        if key in self.raw and self.raw[key] is not None:
            sealed = secret_of(self.raw[key])
            if sealed is not None and not secret:
                self.problem(MSG_SECRET_HERE.format(field=self.field(key)))
                return False, None
            return True, sealed if sealed is not None else self.raw[key]
        if default is REQUIRED:
            if not self.broken:  # a section that is not a mapping is reported once
                self.problem(MSG_MISSING.format(field=self.field(key)))
            return False, None
        return False, default

    def text(self, key: str, default: Any = REQUIRED, secret: bool = False) -> str | None:
        """Text, or with ``secret`` also a Secret (returned as such, never checked)."""
        present, value = self._get(key, default, secret)
        if present and not isinstance(value, str):
            self.problem(MSG_NOT_TEXT.format(field=self.field(key), got=describe(value)))
            return None
        return value if isinstance(value, str) else None

    def integer(self, key: str, default: Any, low: int, high: int) -> int | None:
        present, value = self._get(key, default)
        if not present:
            return value if isinstance(value, int) else None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(MSG_NOT_INTEGER.format(field=self.field(key), got=describe(value)))
            return None
        return self._in_range(key, value, low, high)

    def number(self, key: str, default: Any, low: float, high: float) -> float | None:
        present, value = self._get(key, default)
        if not present:
            return float(value) if isinstance(value, (int, float)) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(MSG_NOT_NUMBER.format(field=self.field(key), got=describe(value)))
            return None
        return self._in_range(key, float(value), low, high)

    def _in_range(self, key: str, value: N, low: float, high: float) -> N | None:
        if not low <= value <= high:
            self.problem(MSG_OUT_OF_RANGE.format(field=self.field(key), value=value, low=low, high=high))
            return None
        return value

    def flag(self, key: str, default: bool) -> bool:
        present, value = self._get(key, default)
        if present and not isinstance(value, bool):
            self.problem(MSG_NOT_FLAG.format(field=self.field(key), got=describe(value)))
            return default
        return bool(value)

    def choice(self, key: str, enum: type[E], default: Any = REQUIRED) -> E | None:
        present, value = self._get(key, default)
        if not present:
            return value if isinstance(value, enum) else None
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            self.problem(MSG_NOT_CHOICE.format(field=self.field(key), value=value, choices=choices))
            return None

    def section(self, key: str) -> Section | None:
        """The nested mapping under ``key``, or None when it is absent."""
        if self.raw.get(key) is None:
            return None
        return Section(self.raw[key], self.field(key), self.problems)

    def check_known(self, known: tuple[str, ...]) -> None:
        for key in self.raw:
            if key not in known:
                self.problem(MSG_UNKNOWN_KEY.format(field=self.field(str(key)), known=", ".join(known)))
