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
    kept: list = []
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
    BACKSLASHES_BEFORE_REFERENCE = re.compile(r"(\\+)(?=\$!?\{?[a-zA-Z_])")
    BACKSLASHES_AT_END = re.compile(r"\\+\Z")

    def parse(self):
        before_reference = self.BACKSLASHES_BEFORE_REFERENCE.match(self.full_text(), self.end)
        at_end = self.BACKSLASHES_AT_END.match(self.full_text(), self.end)
        if before_reference:
            count = len(before_reference.group(1))
            self.end = before_reference.end()
            self.text = "\\" * (count // 2) + (self._escaped_reference() if count % 2 else "")
        elif at_end:  # printed as written (airspeed's text pattern wants a character after "\\")
            self.text, self.end = at_end.group(0), at_end.end()
        else:
            super().parse()

    def _escaped_reference(self) -> str:
        try:
            return self.next_element(airspeed.FormalReference).my_text()
        except (airspeed.NoMatch, airspeed.TemplateSyntaxError):
            self.end += 1  # not a whole reference: the "$" is plain text
            return "$"


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
