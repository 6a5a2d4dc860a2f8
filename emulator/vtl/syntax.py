"""API Gateway's template syntax where it differs from airspeed's parser.

Recorded on API Gateway (see tests/vtl_corpus/) and matching Velocity 1.7's lexer:

- blanks between a directive or reference and a following ``#set`` belong to the ``#set``
  (``#set($a = 1) #set($b = 2)`` prints nothing), while blanks after text stay;
- a ``#* ... *#`` comment keeps the line break after it, while ``#foreach(...)`` and ``#else``
  take the blanks and line break that follow them (as ``#set``, ``#if`` and ``#end`` already do);
- a run of backslashes before a reference prints half of them, then the value when the run is
  even or the reference as written when it is odd (``\\$x`` prints ``\\`` and the value);
- ``#macro`` definitions print nothing and are never expanded: a macro call, ``#evaluate(...)``
  and ``#return(...)`` print as written.
"""

from __future__ import annotations

import re

from airspeed import operators as airspeed

BLANKS = re.compile(r"[ \t]+\Z")
# airspeed's own classes, kept before install() replaces the module's names with the ones below.
TEXT, SET_DIRECTIVE = airspeed.Text, airspeed.SetDirective


class ApiGatewayBlock(airspeed.Block):
    def parse(self):
        super().parse()
        self.children = _drop_blanks_before_set(self.children)


def _drop_blanks_before_set(children: list) -> list:
    kept = []
    for index, child in enumerate(children):
        following = children[index + 1] if index + 1 < len(children) else None
        after_text = bool(kept) and isinstance(kept[-1], TEXT)
        if (isinstance(child, TEXT) and isinstance(following, SET_DIRECTIVE)
                and not after_text and BLANKS.match(child.text)):
            continue
        kept.append(child)
    return kept


class ApiGatewayComment(airspeed.Comment):
    COMMENT = re.compile(r"#(?:#.*?(?:\n|$)|\*.*?\*#)(.*)$", re.M + re.S)


class ApiGatewayText(airspeed.Text):
    BACKSLASHES_BEFORE_REFERENCE = re.compile(r"(\\+)(?=\$!?\{?[a-zA-Z_])(.*)$", re.S)

    def parse(self):
        match = self.BACKSLASHES_BEFORE_REFERENCE.match(self.full_text(), self.end)
        if not match:
            super().parse()
            return
        count = len(match.group(1))
        self.end = match.start(2)
        self.text = "\\" * (count // 2)
        if count % 2:
            reference = self.next_element(airspeed.FormalReference)
            self.text += reference.my_text()


class ApiGatewayElseBlock(airspeed.ElseBlock):
    """``#else`` takes the blanks and line break after it, like the other directives."""

    START = re.compile(r"#(?:else|\{else\})(?:[ \t]*\r?\n)?(.*)$", re.S + re.I)


class UnexpandedMacroDefinition(airspeed.MacroDefinition):
    """API Gateway accepts a ``#macro`` block and prints nothing for it."""

    def evaluate_raw(self, stream, namespace, loader):
        return None


class LiteralMacroCall(airspeed.MacroCall):
    def evaluate_raw(self, stream, namespace, loader):
        stream.write(self.my_text())


class LiteralEvaluateDirective(airspeed.EvaluateDirective):
    def evaluate_raw(self, stream, namespace, loader):
        stream.write(self.my_text())


class LiteralReturnDirective(airspeed.ReturnDirective):
    def evaluate_raw(self, stream, namespace, loader):
        stream.write(self.my_text())


ELEMENTS = {
    "Block": ApiGatewayBlock,
    "Comment": ApiGatewayComment,
    "ElseBlock": ApiGatewayElseBlock,
    "Text": ApiGatewayText,
    "MacroDefinition": UnexpandedMacroDefinition,
    "MacroCall": LiteralMacroCall,
    "EvaluateDirective": LiteralEvaluateDirective,
    "ReturnDirective": LiteralReturnDirective,
}
