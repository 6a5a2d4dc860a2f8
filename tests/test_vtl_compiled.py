"""The compiled render (emulator.vtl.compiled) gives what airspeed's own walk of the tree gives.

The reference is airspeed-ext's interpreter with the dialect installed (the engine before it was
compiled): every corpus case recorded on AWS, the project's templates on generated input, and
templates written to reach each node kind and each error path (the element an error names, the
order operands are evaluated in, #stop, #define, indexes, alternate values). Both renders must
give the same body and overrides, or the same TemplateError (template, line and reason).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.vtl import MappingTemplate, RequestData, TemplateError
from tests.test_vtl_corpus import CASES, _request

VTL = Path(__file__).resolve().parent.parent / "vtl"


def _outcome(template: MappingTemplate, request: RequestData, after=None):
    try:
        rendered = template.render(request, after=after)
    except TemplateError as error:
        return ("error", error.name, error.line, error.reason)
    overrides = [dict(side) for side in rendered.overrides] if rendered.overrides else None
    return ("ok", rendered.body, rendered.request_headers, rendered.request_querystring, rendered.request_path,
            rendered.response_headers, rendered.status, repr(overrides))


@contextlib.contextmanager
def _interpreted(template: MappingTemplate):
    compiled = template._merge
    template._merge = template._template.merge  # airspeed's walk of the same parse tree
    try:
        yield
    finally:
        template._merge = compiled


def both_ways(template: MappingTemplate, request: RequestData, after=None) -> tuple:
    with _interpreted(template):
        interpreted = _outcome(template, request, after)
    return _outcome(template, request, after), interpreted


def _agree(source: str, request: RequestData | None = None) -> tuple:
    compiled, interpreted = both_ways(MappingTemplate(source, "t"), request or RequestData())
    assert compiled == interpreted
    return compiled


@pytest.mark.parametrize("case", CASES)
def test_every_recorded_case_renders_alike(case):
    request = case.get("request", {})
    before, carried, body = case.get("before"), None, None
    if before:
        first = MappingTemplate(before["template"], "before")
        with _interpreted(first):
            reference = first.render(_request(before.get("request", {})))
        assert first.render(_request(before.get("request", {}))).body == reference.body
        carried, body = (reference, None) if before["passes"] == "overrides" else (None, reference.body)
    compiled, interpreted = both_ways(MappingTemplate(case["template"], case["id"]), _request(request, body), carried)
    assert compiled == interpreted


ids = st.one_of(st.integers(0, 10**10).map(str), st.text(max_size=12),
                st.sampled_from(["", " 7 ", "007", "1e3", '"', "\\", "$x", "#set", "😀"]))


@settings(max_examples=300, deadline=None)
@given(user=ids, items=st.lists(ids, max_size=120).map(",".join),
       stage=st.fixed_dictionaries({}, optional={"maxItems": st.sampled_from(["1", "100", "x", ""]),
                                                 "candidate": st.sampled_from(["v2", ""]),
                                                 "candidatePercent": st.sampled_from(["0", "50", "100", "x"])}))
def test_the_request_template_renders_alike_on_any_input(user, items, stage):
    template = MappingTemplate.from_file(VTL / "request.vtl")
    request = RequestData(path={"user_id": user}, querystring={"items": items}, stage_variables=stage)
    compiled, interpreted = both_ways(template, request)
    assert compiled == interpreted


@settings(max_examples=150, deadline=None)
@given(body=st.one_of(st.text(max_size=40), st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["predictions", "scores", "message", "ErrorCode", "OriginalStatusCode"]), inner, max_size=3)),
    max_leaves=12).map(json.dumps)))
def test_the_response_and_error_templates_render_alike_on_any_model_answer(body):
    for name in ("response.vtl", "error.vtl"):
        template = MappingTemplate.from_file(VTL / name)
        compiled, interpreted = both_ways(template, RequestData(body=body, stage_variables={"variant": "v1"}))
        assert compiled == interpreted


NODES = {
    "text and references": "a $x b ${x} c $!x $!{missing} \\$x $missing.foo() #notadirective",
    "alternate value": "${missing|'fallback'} ${x|'unused'}",
    "interpolated string": '#set($s = "[$x-${x}-$missing]")$s',
    "operators in airspeed's order": "#set($a = 1 + 2 * 3 - 4 / 2 % 3)$a #set($b = 1 < 2 && 3 >= 3 || false)$b",
    "order of evaluation": "#set($l = [])#set($r = $l.add('a') == $l.add('b') || $l.add('c') && $l.add('d') "
                           "|| $l.add('e'))$l #set($o = [])#set($r = $o.add(1) == $o.add(2))$o",
    "negation and parentheses": "#if(!($x == 'value') || !true)yes#{else}no#end",
    "if, elseif, else": "#foreach($n in [1..4])#if($n == 1)one#elseif($n == 2)two#elseif($n == 3)three"
                        "#{else}other#end,#end",
    "foreach variables": "#foreach($k in {'a': 1, 'b': 2})$k$velocityCount$foreach.index$foreach.hasNext"
                         "$foreach.first$foreach.last;#end#foreach($c in 'abc')never#end#foreach($c in $missing)"
                         "never#end",
    "set into maps": "#set($m = {'a': {'b': 1}})#set($m.a.b = 2)#set($m['c'] = [1, 2])$m $m.a.b $m.c[1] $m['a']",
    "indexes and lists": "#set($l = [1, 'two', [3]])$l[1] $l[2][0] $l.size() $l.get(0) $l[5]",
    "define and macro": "#define($d)defined $x#end$d #macro(m $a)no#end#m(1) #evaluate('$x') #return(1)",
    "stop": "before#stop after $x",
    "scopes": "#set($outer = 1)#foreach($i in [1, 2])#set($outer = $i)#set($inner = $i)#end$outer $inner "
              "#foreach($i in [1])#foreach($j in [2])#set($outer = $j)#end#end$outer",
    "map misses": "#set($m = {'size': 'key', 'none': $missing})$m.size $m.missing $m.none $m.isEmpty() "
                  "$stageVariables.missing $context.missing $context.requestId.length()",
    "literals": "#set($n = null)$n #set($f = 1.5)$f #set($t = true)$t #set($i = -3)$i",
    "context and util": "$context.requestId $util.escapeJavaScript(\"it's\") $input.params('p') "
                        "$input.json('$') $stageVariables.s",
    "overrides": "#set($context.requestOverride.header.h = 'v')#set($context.responseOverride.status = 201)"
                 "#set($context.requestOverride.querystring['q'] = $x)",
}
ERRORS = {
    "error in a nested block": "line one\n#if(true)\n  #if(true)\n    $x.substring(99)\n  #end\n#end",
    "error in a condition": "\n\n#if($x.substring(99) == 1)yes#end",
    "error in a set": "\n#set($a = $x.substring(99))",
    "error in a string": '\n#set($a = "one\n$x.substring(99)")',
    "error in a loop": "#foreach($i in [1..3])\n#if($i == 3)$x.substring(99)#end\n#end",
    "too many iterations": "#foreach($i in [1..1001])#end",
    "a value that is not a list": "\n#foreach($i in 5)$i#end",
    "override set twice": "#set($context.requestOverride.header.h = 1)\n#set($context.requestOverride.header.h = 2)",
    "bad JSON": "\n$util.parseJson('{')",
}


@pytest.mark.parametrize("source", NODES.values(), ids=NODES.keys())
def test_each_node_kind_renders_alike(source):
    request = RequestData(path={"p": "path"}, querystring={}, body='{"a": 1}', stage_variables={"s": "stage"},
                          context={"requestId": "r-1"})
    namespace_x = RequestData(**{**request.__dict__, "stage_variables": {"s": "stage"}})
    outcome = _agree(source.replace("$x", "$stageVariables.s").replace("${x", "${stageVariables.s"), namespace_x)
    assert outcome[0] == "ok", outcome


@pytest.mark.parametrize("source", ERRORS.values(), ids=ERRORS.keys())
def test_each_error_names_the_same_element(source):
    request = RequestData(stage_variables={"s": "short"})
    outcome = _agree(source.replace("$x", "$stageVariables.s"), request)
    assert outcome[0] == "error" and outcome[2] is not None, outcome
