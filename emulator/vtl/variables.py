"""API Gateway's template variables: ``$input``, ``$util``, ``$context``, ``$stageVariables``."""

from __future__ import annotations

import base64
import functools
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from jsonpath_ng.ext import parse as parse_jsonpath

from emulator.vtl import simple_path
from emulator.vtl.java import ContextObject, JList, JMap, JString, VtlError, java_str, wrap

EMPTY_BODY = "{}"
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # made once, not per call
INDEFINITE_PATH = re.compile(r"\*|\.\.|\?\(|\[[^\]]*[,:][^\]]*\]")


@functools.lru_cache(maxsize=256)
def _jsonpath(expression: str):
    """Parsed once: jsonpath_ng builds its parser per call, which costs a millisecond."""
    return parse_jsonpath(expression)


@dataclass(frozen=True)
class RequestData:
    """What a template sees of one request (or, for response templates, of the integration)."""

    path: dict[str, str] = field(default_factory=dict)
    querystring: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    stage_variables: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


def _json_value(body: str) -> Any:
    try:
        return json.loads(body) if body.strip() else {}
    except json.JSONDecodeError as error:
        raise VtlError(f"the body is not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None


class Input:
    """``$input``: parameters by name (path, then query string, then header) and the body."""

    def __init__(self, request: RequestData):
        self._request = request
        # API Gateway hands templates "{}" for an empty payload (LocalStack's recorded
        # test_input_body_formatting), the same document $input.path('$') reads.
        self.body = JString(request.body or EMPTY_BODY)
        self._parsed: Any = None

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return JMap(path=wrap(self._request.path), querystring=wrap(self._request.querystring),
                        header=wrap(self._request.headers))
        for source in (self._request.path, self._request.querystring):
            if name in source:
                return JString(source[name])
        wanted = str(name).lower()  # header names are case-insensitive
        return JString(next((v for k, v in self._request.headers.items() if k.lower() == wanted), ""))

    def _document(self) -> Any:
        if self._parsed is None:
            self._parsed = _json_value(self._request.body)
        return self._parsed

    def path(self, expression: str) -> Any:
        """A JSONPath result as a Java object: one value for a definite path, else a list."""
        return wrap(self._result(str(expression)))

    def json(self, expression: str) -> JString:
        """``path`` as JSON text, written from the parsed values (their Java wrappers print the
        same JSON, so they are not made)."""
        return JString(COMPACT_JSON.encode(self._result(str(expression))))

    def _result(self, expression: str) -> Any:
        """The matches of a path that may select many, else the one match (None for none)."""
        try:
            matches = self._find(expression)
        except VtlError:
            raise
        except Exception as error:  # noqa: BLE001  # jsonpath_ng's lexer, parser and filters raise many types
            raise VtlError(f"invalid JSONPath {expression!r}: {error}") from None
        if INDEFINITE_PATH.search(expression):
            return matches
        return matches[0] if matches else None

    def _find(self, expression: str) -> list:
        steps = simple_path.compile_path(expression)
        found = simple_path.find(steps, self._document()) if steps is not None else None
        if found is None:
            found = [match.value for match in _jsonpath(expression).find(self._document())]
        return found


_JS_ESCAPES = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r",
               '"': '\\"', "'": "\\'", "\\": "\\\\", "/": "\\/"}


class Util:
    """``$util``: exactly the six functions API Gateway documents."""

    @staticmethod
    def escapeJavaScript(text: Any) -> JString:  # noqa: N802 (API Gateway's name)
        """commons-lang 2 StringEscapeUtils.escapeJavaScript (null for null, which prints as "")."""
        if text is None:
            return JString("")
        out = []
        for unit in java_str(text):
            code = ord(unit)
            if unit in _JS_ESCAPES:
                out.append(_JS_ESCAPES[unit])
            elif code > 0xFFFF:
                high, low = divmod(code - 0x10000, 0x400)
                out.append(f"\\u{0xD800 + high:04X}\\u{0xDC00 + low:04X}")
            elif code > 0x7F or code < 0x20:
                out.append(f"\\u{code:04X}")
            else:
                out.append(unit)
        return JString("".join(out))

    @staticmethod
    def parseJson(text: Any) -> Any:  # noqa: N802
        return wrap(_json_value(java_str(text)))

    @staticmethod
    def urlEncode(text: Any) -> JString:  # noqa: N802
        """java.net.URLEncoder with UTF-8: space becomes '+', only ``*-._`` stay unescaped."""
        # Python always keeps "~" (RFC 3986 unreserved); Java's URLEncoder escapes it.
        if text is None:
            return JString("")  # API Gateway prints nothing for urlEncode(null)
        return JString(urllib.parse.quote_plus(java_str(text), safe="*-._").replace("~", "%7E"))

    @staticmethod
    def urlDecode(text: Any) -> JString:  # noqa: N802
        return JString(urllib.parse.unquote_plus(java_str(text)))

    @staticmethod
    def base64Encode(text: Any) -> JString:  # noqa: N802
        return JString(base64.b64encode(java_str(text).encode("utf-8")).decode("ascii"))

    @staticmethod
    def base64Decode(text: Any) -> JString:  # noqa: N802
        try:
            return JString(base64.b64decode(java_str(text), validate=True).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise VtlError(f"base64Decode: {error}") from None


class OverrideMap(ContextObject):
    """One of ``$context.requestOverride.*``: each name may be set once, as in API Gateway."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self:
            raise VtlError(f"{self.kind} override {key!r} set twice; API Gateway allows one override per name")
        super().__setitem__(key, value)


def request_overrides() -> JMap:
    """Keys in API Gateway's order; ``status`` appears in the response map only once set."""
    return ContextObject(path=OverrideMap("path"), header=OverrideMap("header"),
                         querystring=OverrideMap("querystring"))


def response_overrides() -> JMap:
    return ContextObject(header=OverrideMap("header"))


def _context_value(value: Any) -> Any:
    if isinstance(value, dict):
        return ContextObject((JString(k), wrap(v)) for k, v in value.items())
    return wrap(value)


def carry_overrides(previous: tuple[JMap, JMap], request_override: JMap, response_override: JMap) -> None:
    """Seed fresh override maps with what an earlier template set; those names count as set
    (an override is final)."""
    for earlier, fresh in zip(previous, (request_override, response_override), strict=True):
        for key, value in earlier.items():
            if isinstance(value, OverrideMap):
                dict.update(fresh[key], value)
            else:
                fresh[key] = value


def context_map(fields: dict[str, Any], request_override: JMap, response_override: JMap) -> JMap:
    context = JMap()
    for key, value in fields.items():  # most values are strings: wrapped here without a call
        context[JString(key)] = JString(value) if type(value) is str else _context_value(value)
    context["requestOverride"] = request_override
    context["responseOverride"] = response_override
    return context


__all__ = ["Input", "JList", "RequestData", "Util", "carry_overrides", "context_map", "request_overrides",
           "response_overrides"]
