"""Render API Gateway mapping templates offline, with API Gateway's semantics.

A MappingTemplate is parsed once and rendered many times. Rendering returns the body and the
overrides the template set (``$context.requestOverride`` / ``responseOverride``), or raises
TemplateError naming the template line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airspeed import operators as airspeed

from emulator.vtl import compiled, dialect
from emulator.vtl.java import JMap, VtlError, java_str, wrap
from emulator.vtl.variables import (
    Input,
    RequestData,
    Util,
    carry_overrides,
    context_map,
    request_overrides,
    response_overrides,
)

VARIABLES = ("input", "util", "context", "stageVariables")
UNSUPPORTED_DIRECTIVES = {"IncludeDirective": "#include", "ParseDirective": "#parse"}


UTIL = Util()
HEADER_VALUE_SEPARATOR = ","


class TemplateError(Exception):
    """A template that cannot be parsed or rendered; ``line`` is 1-based when known."""

    def __init__(self, name: str, line: int | None, reason: str):
        self.name, self.line, self.reason = name, line, reason
        where = f"{name}, line {line}" if line else name
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Rendered:
    body: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_querystring: dict[str, str] = field(default_factory=dict)
    request_path: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    # The override maps as the template left them: a response template sees what the request
    # template set (API Gateway carries ``$context.requestOverride``/``responseOverride`` across).
    overrides: tuple[JMap, JMap] | None = field(default=None, compare=False, repr=False)


def _line_of(element: Any) -> int:
    return element.full_text()[: element.start].count("\n") + 1


def _walk(element: Any, seen: set[int] | None = None):
    """Every airspeed element below ``element`` (the parse tree has no child list of its own)."""
    seen = set() if seen is None else seen
    if id(element) in seen:
        return
    seen.add(id(element))
    yield element
    for value in vars(element).values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, airspeed._Element):
                yield from _walk(child, seen)


class MappingTemplate:
    def __init__(self, source: str, name: str = "<template>"):
        self.name = name
        self.source = source
        dialect.install()
        self._template = airspeed.Template(source, name)
        try:
            self._template.ensure_compiled()
        except airspeed.TemplateSyntaxError as error:
            raise TemplateError(name, error.line, f"syntax error: {error}") from None
        self._reject_unsupported()
        self._merge = compiled.compile_body(self._template.root_element)
        self._names = _referenced(source)

    @classmethod
    def from_file(cls, path: Path | str) -> MappingTemplate:
        file = Path(path)
        return cls(file.read_bytes().decode("utf-8"), file.name)

    def _reject_unsupported(self) -> None:
        for element in _walk(self._template.root_element):
            directive = UNSUPPORTED_DIRECTIVES.get(type(element).__name__)
            if directive:
                raise TemplateError(self.name, _line_of(element),
                                    f"{directive} is not supported by API Gateway mapping templates")

    def render(self, request: RequestData, after: Rendered | None = None) -> Rendered:
        """``after``: the integration request's rendering, when this is its response template."""
        request_override, response_override = self._overrides(after)
        # A LocalNamespace holding the variables itself: airspeed would otherwise wrap them in
        # one and pay a KeyError on every lookup of a top-level variable.
        namespace = airspeed.LocalNamespace({})
        names = self._names
        if "input" in names:
            namespace["input"] = Input(request)
        if "util" in names:
            namespace["util"] = UTIL
        if "context" in names:
            namespace["context"] = context_map(request.context, request_override, response_override)
        if "stageVariables" in names:
            namespace["stageVariables"] = wrap(dict(request.stage_variables))
        try:
            body = self._merge(namespace)
        except airspeed.TemplateExecutionError as error:
            raise TemplateError(self.name, _line_of(error.element), _reason(error)) from None
        except VtlError as error:
            raise TemplateError(self.name, None, str(error)) from None
        return Rendered(
            body=body,
            request_headers=_headers(request_override["header"]),
            request_querystring=_strings(request_override["querystring"]),
            request_path=_strings(request_override["path"]),
            response_headers=_headers(response_override["header"]),
            status=_status(response_override.get("status")),
            overrides=(request_override, response_override),
        )

    def _overrides(self, after: Rendered | None) -> tuple[JMap, JMap]:
        """The override maps this render starts from: what ``after`` set, in fresh maps (an override
        is final, so the names it set count as set). A template that never names ``$context``
        cannot reach them, so it keeps ``after``'s own maps instead of copies."""
        carried = after.overrides if after is not None else None
        if carried is not None and "context" not in self._names:
            return carried
        request_override, response_override = request_overrides(), response_overrides()
        if carried is not None:
            carry_overrides(carried, request_override, response_override)
        return request_override, response_override


def _referenced(source: str) -> frozenset[str]:
    """The template variables ``source`` can read: Velocity reaches a variable only through a
    ``$name`` reference written in the template (``#evaluate`` and macros print as written here),
    so one it never names need not be built for each render ($context alone costs a map of
    wrapped values). Read from the text, not the parse tree, so no element kind can hide one; a
    name matched in a comment or escaped text is only built for nothing."""
    return frozenset(name for name in VARIABLES if re.search(rf"\$!?\{{?{name}(?![A-Za-z0-9_])", source))


def _reason(error: airspeed.TemplateExecutionError) -> str:
    cause = error.__cause__
    if isinstance(cause, VtlError):
        return str(cause)
    return f"{type(cause).__name__}: {cause} in {error.element.my_text().strip()!r}"


def _strings(overrides: JMap) -> dict[str, str]:
    return {str(key): java_str(value) for key, value in overrides.items()} if overrides else {}


def _headers(overrides: JMap) -> dict[str, str]:
    """A header set to a list goes out as one header, its values joined by commas (HTTP's
    convention for repeated headers, which API Gateway applies when it flattens values)."""
    return {str(key): _header_value(value) for key, value in overrides.items()} if overrides else {}


def _header_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return HEADER_VALUE_SEPARATOR.join(java_str(item) for item in value)
    return java_str(value)


def _status(value: Any) -> int | None:
    """API Gateway honours a status override only when it is an HTTP status code."""
    if value is None:  # no override: the common case, without the cost of an exception
        return None
    try:
        status = int(str(value))
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 599 else None
