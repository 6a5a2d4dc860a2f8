"""API Gateway's dialect of Velocity on top of airspeed-ext.

airspeed-ext already renders undefined references as "" and treats ``#if($undefined)`` as true,
like API Gateway. What it lacks is Java's value semantics and a few points of API Gateway's syntax
(emulator.vtl.syntax); ``install()`` adds them by replacing airspeed element classes:

- string, list and map literals become JString / JList / JMap (Java ``split``, ``hashCode``,
  ``size`` ...);
- conditions are false only for boolean false;
- arithmetic and comparison follow Velocity 1.7 on Java numbers (integer division and remainder
  truncate toward zero, ``+`` concatenates when a side is a string, type mismatches give null);
- values print the Java way (``{k=v}``, ``1.0E20``, ``true``);
- ``#foreach`` fails past API Gateway's 1,000 iterations.
"""

from __future__ import annotations

import importlib.metadata
import math
import numbers
import operator
import re
from typing import Any

from airspeed import operators as airspeed

from emulator.vtl import syntax
from emulator.vtl.java import JList, JMap, JString, VtlError, java_str

MAX_FOREACH_ITERATIONS = 1000


def _numeric(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:  # the common answers first: the ABC check below is slow
        return True
    if kind is JString or kind is str or kind is bool or value is None:
        return False
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _arithmetic(function):
    """Velocity returns null when an operand is not a number (or on division by zero)."""

    def apply(left: Any, right: Any) -> Any:
        if not (_numeric(left) and _numeric(right)):
            return None
        try:
            return function(left, right)
        except ZeroDivisionError:
            return None

    return apply


def _divide(left, right):
    if isinstance(left, int) and isinstance(right, int):
        quotient = abs(left) // abs(right)
        return quotient if (left >= 0) == (right >= 0) else -quotient
    return left / right


def _remainder(left, right):
    if isinstance(left, int) and isinstance(right, int):
        return left - right * _divide(left, right)
    if right == 0:
        raise ZeroDivisionError
    return math.fmod(left, right)


def _add(left, right):
    if isinstance(left, str) or isinstance(right, str):
        if left is None or right is None:
            return None
        return JString(java_str(left) + java_str(right))
    return _arithmetic(operator.add)(left, right)


def _equals(left, right) -> bool:
    """Velocity 1.7 ``==`` (numbers by value, other types by their printed form), except that a
    missing value equals both null and "", as in API Gateway."""
    if _numeric(left) and _numeric(right):
        return left == right
    if left is None or right is None:
        other = right if left is None else left
        return other is None or other == ""
    if type(left) is type(right) or (isinstance(left, str) and isinstance(right, str)):
        return left == right
    return java_str(left) == java_str(right)


def _compare(function):
    """Velocity 1.7 orders numbers only; any other operand makes the comparison false."""

    def apply(left, right) -> bool:
        if _numeric(left) and _numeric(right):
            return function(left, right)
        return False

    return apply


def truthy(value: Any) -> bool:
    """A condition is false only for boolean false: Velocity 1.7 has no emptiness check ("", 0
    and [] are true), and API Gateway takes a missing value as true (``#if($undefined)``)."""
    return value is not False


def _and(left: Any, right: Any) -> bool:
    return truthy(left) and truthy(right)


def _or(left: Any, right: Any) -> bool:
    return truthy(left) or truthy(right)


class JavaBinaryOperator(airspeed.BinaryOperator):
    OPERATORS = {
        **airspeed.BinaryOperator.OPERATORS,
        "+": _add,
        "-": _arithmetic(operator.sub),
        "*": _arithmetic(operator.mul),
        "/": _arithmetic(_divide),
        "%": _arithmetic(_remainder),
        "&&": _and, "and": _and, "||": _or, "or": _or,
        "==": _equals, "eq": _equals,
        "!=": lambda a, b: not _equals(a, b), "ne": lambda a, b: not _equals(a, b),
        "<": _compare(operator.lt), "lt": _compare(operator.lt),
        "<=": _compare(operator.le), "le": _compare(operator.le),
        ">": _compare(operator.gt), "gt": _compare(operator.gt),
        ">=": _compare(operator.ge), "ge": _compare(operator.ge),
    }


class VelocityCondition(airspeed.Condition):
    def calculate(self, namespace, loader):
        return truthy(self.expression.calculate(namespace, loader))


class VelocityNegation(airspeed.UnaryOperatorValue):
    def calculate(self, namespace, loader):
        return not truthy(self.value.calculate(namespace, loader))


class JavaStringLiteral(airspeed.StringLiteral):
    def calculate(self, namespace, loader):
        return JString(self.value)


class JavaInterpolatedStringLiteral(airspeed.InterpolatedStringLiteral):
    def calculate(self, namespace, loader):
        return JString(super().calculate(namespace, loader))


class FastExpression(airspeed.Expression):
    """A lone value skips the operator-precedence machinery (most ``#set`` and ``#if`` use one)."""

    def calculate(self, namespace, loader):
        if len(self.expression) == 1:
            return self.expression[0].calculate(namespace, loader)
        return super().calculate(namespace, loader)


class FastNameOrCall(airspeed.NameOrCall):
    """Method calls on strings, lists and the ``$input``/``$util`` objects go straight to the
    attribute: airspeed first tries ``object[name]``, whose exception dominated render time."""

    def calculate(self, current_object, loader, top_namespace):
        if self.index is None and not isinstance(current_object, dict):
            attribute = getattr(current_object, self.name, None)
            if attribute is not None:
                if self.parameters is None:
                    return attribute
                return attribute(*self.parameters.calculate(top_namespace, loader))
        return super().calculate(current_object, loader, top_namespace)


class JavaArrayLiteral(airspeed.ArrayLiteral):
    def parse(self):
        super().parse()
        values = self.calculate  # airspeed binds the list's calculate while parsing
        self.calculate = lambda namespace, loader: JList(values(namespace, loader))


class JavaDictionaryLiteral(airspeed.DictionaryLiteral):
    def calculate(self, namespace, loader):
        return JMap(super().calculate(namespace, loader))


class CappedForeachDirective(airspeed.ForeachDirective):
    """``#foreach`` with Velocity's loop variables, refusing to pass 1,000 iterations. Like every
    Velocity 1.7 directive, its closing parenthesis takes the line break right after it."""

    CLOSE_PAREN = re.compile(r"[ \t]*\)(?:[ \t]*\r?\n)?(.*)$", re.S)

    def evaluate_raw(self, stream, namespace, loader):
        for local in iterations(self.value.calculate(namespace, loader), namespace, self.loop_var_name):
            self.block.evaluate(stream, local, loader)


def iterations(value: Any, namespace: Any, name: str):
    """The scopes of a ``#foreach`` over ``value``, one per item, with Velocity's loop variables
    (a string or null gives none); more than 1,000 items fails before the first."""
    if value is None or isinstance(value, str):  # Velocity does not iterate a string
        return
    items = list(value.keys()) if isinstance(value, dict) else list(value)
    if len(items) > MAX_FOREACH_ITERATIONS:
        raise VtlError(f"#foreach over {len(items)} items exceeds API Gateway's limit of "
                       f"{MAX_FOREACH_ITERATIONS} iterations")
    for index, item in enumerate(items):
        has_next = index + 1 < len(items)
        local = airspeed.LocalNamespace(namespace)
        local["velocityCount"] = index + 1
        local["velocityHasNext"] = has_next
        local["foreach"] = JMap(count=index + 1, index=index, hasNext=has_next, first=index == 0, last=not has_next)
        local[name] = item
        yield local


AIRSPEED_VERSION = "0.6.9"
WRONG_VERSION = ("airspeed-ext {found} is installed; API Gateway's dialect is adapted to airspeed-ext "
                 "{wanted} (pin it in requirements.txt)")
SELF_CHECK_FAILED = "airspeed-ext did not take API Gateway's dialect: {reason}"
SELF_CHECK = ("#set($m = {})#set($h = 7 / 2)#set($ignore = $m.put('k', $h)) #set($l = [1])$m|$l.size()|"
              "\\\\$m.k|#x()|#foreach($i in [1..2])$i#end")
SELF_CHECK_EXPECTED = "{k=3}|1|\\3|#x()|12"

ELEMENTS = {
    "BinaryOperator": JavaBinaryOperator,
    "Expression": FastExpression,
    "NameOrCall": FastNameOrCall,
    "StringLiteral": JavaStringLiteral,
    "InterpolatedStringLiteral": JavaInterpolatedStringLiteral,
    "ArrayLiteral": JavaArrayLiteral,
    "DictionaryLiteral": JavaDictionaryLiteral,
    "ForeachDirective": CappedForeachDirective,
    "Condition": VelocityCondition,
    "UnaryOperatorValue": VelocityNegation,
    **syntax.ELEMENTS,
}

_installed = False


def install() -> None:
    """Adapt airspeed-ext to API Gateway's dialect: replace the element classes its parser looks up
    by module name, and its value printer. Checks the version it was written for, then renders a
    template that exercises the adaptation. Idempotent; the engine calls it before parsing."""
    global _installed
    if _installed:
        return
    found = importlib.metadata.version("airspeed-ext")
    if found != AIRSPEED_VERSION:
        raise RuntimeError(WRONG_VERSION.format(found=found, wanted=AIRSPEED_VERSION))
    originals = {name: getattr(airspeed, name) for name in [*ELEMENTS, "value_to_string"]}
    for name, element in ELEMENTS.items():
        setattr(airspeed, name, element)
    airspeed.value_to_string = java_str
    try:
        _self_check()
    except RuntimeError:
        for name, original in originals.items():  # leave airspeed as it was found
            setattr(airspeed, name, original)
        raise
    _installed = True


def _self_check() -> None:
    try:
        rendered = airspeed.Template(SELF_CHECK).merge({})
    except Exception as error:
        raise RuntimeError(SELF_CHECK_FAILED.format(reason=repr(error))) from error
    if rendered != SELF_CHECK_EXPECTED:
        raise RuntimeError(SELF_CHECK_FAILED.format(reason=f"rendered {rendered!r}, "
                                                    f"expected {SELF_CHECK_EXPECTED!r}"))
