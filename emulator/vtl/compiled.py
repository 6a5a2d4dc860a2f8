"""A parsed mapping template turned into Python closures once, so a render skips airspeed's walk.

airspeed evaluates its parse tree on every render, and each value passes through several generic
layers (``evaluate`` -> ``evaluate_raw`` -> ``calculate``, an operator stack rebuilt for every
expression, a text buffer per interpolated string): about a thousand Python calls for the API's
request template, the largest share of the local gateway's time per request. ``compile_body``
does that walk once and returns a function that does only each node's own work.

The result must be the interpreter's, so each closure below mirrors the ``calculate`` or
``evaluate_raw`` of the class it replaces (airspeed-ext 0.6.9 with ``emulator.vtl.dialect``):
the same order of evaluation (an expression's right operand before its left, as airspeed's
operator stack does), the same lookups and the same element named by an error (a statement's
error is raised as ``TemplateExecutionError`` of the innermost statement, as ``_Element.evaluate``
does). A node of any other kind, or a case off the common path, is handed to airspeed itself.
``tests/test_vtl_compiled.py`` renders every template of the corpus both ways.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from airspeed import operators as airspeed

from emulator.vtl import dialect, syntax
from emulator.vtl.java import ContextObject
from emulator.vtl.variables import OverrideMap

Namespace = airspeed.LocalNamespace
Value = Callable[[Any], Any]  # namespace -> value
Member = Callable[[Any, Any], Any]  # (current object, namespace) -> value
Statement = Callable[[Any, "Output"], None]  # (namespace, output)

LOADER = airspeed.NullLoader()
PLAIN_MAPS = frozenset({dialect.JMap, ContextObject, OverrideMap})  # dict's own lookups, no extra methods
REPLACE_FORMAL_TEXT = airspeed.REPLACE_FORMAL_TEXT


class Output:
    """What a render writes (airspeed's StoppableStream without StringIO): ``#stop`` sets ``stop``
    and later writes are dropped."""

    __slots__ = ("parts", "stop")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.stop = False

    def write(self, text: str) -> None:
        if not self.stop:
            self.parts.append(text)


def compile_body(body: airspeed.TemplateBody) -> Callable[[Any], str]:
    """The render function of a parsed template: namespace -> text."""
    block = _block(body.block)

    def render(namespace: Any) -> str:
        if not isinstance(namespace, Namespace):
            namespace = Namespace(namespace)
        output = Output()
        block(namespace, output)
        return "".join(output.parts)

    return _guarded(body, render)


def _guarded(element: Any, function: Callable) -> Callable:
    """``function`` raising as ``element.evaluate`` would: an error not yet attributed is raised
    as a TemplateExecutionError naming ``element``."""

    def run(*args):
        try:
            return function(*args)
        except airspeed.TemplateExecutionError:
            raise
        except Exception:  # noqa: BLE001  # any error of a template's evaluation, as airspeed wraps it
            info = sys.exc_info()
            raise airspeed.TemplateExecutionError(element, info).with_traceback(info[2]) from info[1]

    return run


# --- statements -------------------------------------------------------------------------------

def _block(block: Any) -> Statement:
    children = [_statement(child) for child in block.children]
    if len(children) == 1:
        return children[0]

    def run(namespace, output):
        for child in children:
            child(namespace, output)

    return run


def _statement(node: Any) -> Statement:
    kind = type(node)
    if kind in (syntax.ApiGatewayText, airspeed.FallthroughHashText):
        text = node.text
        return lambda namespace, output: output.write(text)
    if kind is syntax.ApiGatewayComment:
        return lambda namespace, output: None
    compilers = {airspeed.FormalReference: _reference, airspeed.IfDirective: _if,
                 airspeed.SetDirective: _set, dialect.CappedForeachDirective: _foreach}
    compiler = compilers.get(kind)
    if compiler is None:
        return lambda namespace, output: node.evaluate(output, namespace, LOADER)
    return compiler(node)


def _reference(node: Any) -> Statement:
    """FormalReference.evaluate_raw: a missing value prints as nothing (references are silent)."""
    value = _variable(node.expression) if node.expression is not None else None
    alternate = _value(node.alternate.expression) if node.alternate is not None else None
    to_string = airspeed.value_to_string
    written = node.my_text()

    def run(namespace, output):
        result = value(namespace, namespace) if value is not None else None
        if result == REPLACE_FORMAL_TEXT:
            result = written
        elif result is None:
            if alternate is not None:
                result = alternate(namespace) or ""
            elif value is not None:
                result = ""
            else:
                result = written
        output.write(result if isinstance(result, str) else to_string(result))

    return _guarded(node, run)


def _if(node: Any) -> Statement:
    branches = [(_value(node.condition), _block(node.block))]
    branches += [(_value(elseif.condition), _block(elseif.block)) for elseif in node.elseifs]
    else_block = getattr(node.else_block, "block", None)  # airspeed's Null() when there is no #else
    otherwise = _block(else_block) if else_block is not None else None

    def run(namespace, output):
        for condition, block in branches:
            if condition(namespace):
                block(namespace, output)
                return
        if otherwise is not None:
            otherwise(namespace, output)

    return _guarded(node, run)


def _set(node: Any) -> Statement:
    """SetDirective -> Assignment.evaluate_raw; an error names the assignment, as in airspeed."""
    assignment = node.assignment
    value, root = _value(assignment.value), assignment.root_term
    terms = [_assignment_term(term.term) for term in assignment.terms]

    def run(namespace, output):
        result = value(namespace)
        if not terms:
            _scope_of(namespace, root)[root] = result
            return
        current = namespace[root]
        for term in terms[:-1]:
            current = current[term(namespace)]
        current[terms[-1](namespace)] = result

    return _guarded(assignment, run)


def _scope_of(namespace: Any, name: str) -> Any:
    """Where LocalNamespace.set_inherited puts ``name``: the nearest scope that already has it (a
    #foreach body sets the template's variable), else this one."""
    scope = namespace
    while name not in scope:
        scope = scope.parent
        if not isinstance(scope, Namespace):
            return namespace
    return scope


def _assignment_term(term: Any) -> Value:
    if isinstance(term, airspeed.DotDictAccessTerm):
        name = term.value
        return lambda namespace: name
    return _value(term.value)


def _foreach(node: Any) -> Statement:
    """CappedForeachDirective.evaluate_raw with the loop's block compiled."""
    value, block, name = _value(node.value), _block(node.block), node.loop_var_name

    def run(namespace, output):
        for local in dialect.iterations(value(namespace), namespace, name):
            block(local, output)

    return _guarded(node, run)


# --- values -----------------------------------------------------------------------------------

def _value(node: Any) -> Value:
    kind = type(node)
    if kind is airspeed.Value:
        return _value(node.expression)
    if kind in (airspeed.NullLiteral, airspeed.IntegerLiteral, airspeed.FloatingPointLiteral,
                airspeed.BooleanLiteral):
        constant = node.value
        return lambda namespace: constant
    if kind is dialect.JavaStringLiteral:
        string = dialect.JString(node.value)
        return lambda namespace: string
    if kind is airspeed.FormalReference and node.expression is not None:
        variable = _variable(node.expression)
        return lambda namespace: variable(namespace, namespace)
    compilers = {dialect.JavaInterpolatedStringLiteral: _interpolated, airspeed.ParenthesizedExpression: _parenthesized,
                 dialect.VelocityNegation: _negation, dialect.FastExpression: _expression,
                 dialect.VelocityCondition: _condition}
    compiler = compilers.get(kind)
    if compiler is None:
        return lambda namespace: node.calculate(namespace, LOADER)
    return compiler(node)


def _interpolated(node: Any) -> Value:
    block, make = _block(node.block), dialect.JString

    def calculate(namespace):
        output = Output()
        block(namespace, output)
        return make("".join(output.parts))

    return calculate


def _parenthesized(node: Any) -> Value:
    return _expression(node.calculate.__self__)  # airspeed keeps only the inner expression's calculate


def _negation(node: Any) -> Value:
    value, truthy = _value(node.value), dialect.truthy
    return lambda namespace: not truthy(value(namespace))


def _condition(node: Any) -> Value:
    value, truthy = _value(node.expression), dialect.truthy
    return lambda namespace: truthy(value(namespace))


def _expression(node: Any) -> Value:
    """airspeed's Expression.calculate, its operator-precedence loop played once at compile time:
    which operator applies when, and to which operands, depends only on the operators. Each step
    computes its right operand, then its left, then applies the operator, as airspeed's stack does."""
    items = node.expression
    if len(items) == 1:
        return _value(items[0])
    steps: list[tuple[Callable, Any, Any]] = []
    operators: list[Any] = []
    operands: list[Value | int] = [_value(items[0])]  # an int: the result of that step

    def reduce() -> None:
        operator, right, left = operators.pop(), operands.pop(), operands.pop()
        steps.append((operator.apply_to, right, left))
        operands.append(len(steps) - 1)

    terms = items[1:]
    while terms:
        if not operators or terms[0].greater_precedence_than(operators[-1]):
            operators.append(terms[0])
            operands.append(_value(terms[1]))
            terms = terms[2:]
        else:
            reduce()
    while operators:
        reduce()
    if len(steps) == 1 and not isinstance(steps[0][1], int) and not isinstance(steps[0][2], int):
        apply, right, left = steps[0]

        def binary(namespace):
            second = right(namespace)
            return apply(left(namespace), second)

        return binary
    return _program(steps)


def _program(steps: list[tuple[Callable, Any, Any]]) -> Value:
    def calculate(namespace):
        results: list[Any] = []
        for apply, right, left in steps:
            second = results[right] if isinstance(right, int) else right(namespace)
            first = results[left] if isinstance(left, int) else left(namespace)
            results.append(apply(first, second))
        return results[-1]

    return calculate


# --- references: $name.member(...).member ... -------------------------------------------------

def _variable(node: Any) -> Member:
    """VariableExpression.calculate(current, loader, namespace): a name or call on ``current``,
    then what follows it."""
    part = _name_or_call(node.part)
    if node.subexpression is None:
        return part
    rest = _subexpression(node.subexpression)
    return lambda current, namespace: rest(part(current, namespace), namespace)


def _subexpression(node: Any) -> Member:
    if isinstance(node.expression, airspeed.ArrayIndex):
        return lambda current, namespace: node.calculate(current, LOADER, namespace)
    return _variable(node.expression)


def _name_or_call(node: Any) -> Member:
    """FastNameOrCall.calculate on its common paths; anything else (an index, a #define, a name
    missing from an object airspeed may know extra methods of) goes to the element itself, whose
    lookups have no side effects, so starting over there gives the same answer. Lookups in the
    namespace and in the template's maps read the dict directly: airspeed's ``current[name]``
    raises and catches a KeyError for every miss, one per scope it searches."""
    name, index = node.name, node.index
    call = None if node.parameters is None else _caller(_parameters(node.parameters))
    slow = node.calculate
    function_definition = airspeed._FunctionDefinition

    def calculate(current, namespace):
        kind = type(current)
        if kind is Namespace:
            result = _lookup(current, name)
            if result is None:
                return None  # airspeed knows no extra methods of a namespace
        elif kind in PLAIN_MAPS:
            result = dict.get(current, name)
            if result is None:
                result = getattr(current, name, None)
                if result is None:
                    return None  # nor of these maps (airspeed's extra methods are for exact dicts)
        elif index is None and not isinstance(current, dict):
            result = getattr(current, name, None)
            if result is None:
                return slow(current, LOADER, namespace)
            return result if call is None else call(result, namespace)
        else:
            return slow(current, LOADER, namespace)
        if index is not None or isinstance(result, function_definition):
            return slow(current, LOADER, namespace)
        return result if call is None else call(result, namespace)

    return calculate


def _lookup(namespace: Any, name: str) -> Any:
    """``namespace[name]`` as LocalNamespace answers it (this scope, then each enclosing one),
    None where airspeed's lookup would raise."""
    scope = namespace
    while isinstance(scope, Namespace):
        if name in scope:
            return dict.__getitem__(scope, name)
        scope = scope.parent
    try:
        return scope[name]
    except (KeyError, TypeError, AttributeError):
        return None


def _caller(parameters: list[Value]) -> Callable[[Any, Any], Any]:
    """Call a method with its arguments evaluated in order (one argument without a list)."""
    if len(parameters) == 1:
        (only,) = parameters
        return lambda method, namespace: method(only(namespace))
    return lambda method, namespace: method(*[parameter(namespace) for parameter in parameters])


def _parameters(node: Any) -> list[Value]:
    values = node.values
    return [_value(value) for value in values.values] if isinstance(values, airspeed.ValueList) else []
