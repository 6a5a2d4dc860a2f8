"""Differential test: our engine against Apache Velocity 1.7, the engine API Gateway follows.

Core Velocity behaviour (split, matches, foreach, set, if, arithmetic, printing) and the real
request template are rendered by both; the outputs must agree. Runs wherever a JDK is present;
`make test` installs Debian's `velocity` package for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.vtl import MappingTemplate, RequestData
from tests.stacks import ROOT

JARS = [Path("/usr/share/java") / name for name in ("velocity.jar", "commons-collections3.jar", "commons-lang.jar")]
ORACLE = Path(__file__).parent / "oracle" / "VelocityOracle.java"

CORE = {
    "split_trailing": "#set($s = 'a,b,,c,,')$s.split(',').size()|#foreach($p in $s.split(','))[$p]#end",
    "split_empty": "#set($s = '')$s.split(',').size()|#set($t = ',a,b')$t.split(',').size()",
    "split_regex": "#set($s = 'a1b22c333')#foreach($p in $s.split('[0-9]+'))$p.#end",
    "split_limit": "#set($s = 'a,b,c,d')$s.split(',', 2).size()|$s.split(',', 2).get(1)",
    "split_spaces": "#set($s = ' 1 , 2 ,, 3 ')#foreach($p in $s.split(','))[$p.trim()]#end",
    "matches": "#set($s = '0123')$s.matches('[0-9]+')|$s.matches('[1-9][0-9]*')|$s.matches('1')",
    "strings": "#set($s = '  Ab  ')[$s.trim()]|$s.length()|$s.isEmpty()|$s.contains('b')",
    "hash": "#set($a = '321')#set($b = 'polygenelubricants')#set($c = 'zz-top 99')$a.hashCode()|$b.hashCode()"
            "|$c.hashCode()",
    "bucket": "#set($s = 'polygenelubricants')#set($h = $s.hashCode())#set($m = $h % 100)$m",
    "replace": "#set($s = '007')$s.replaceAll('^0+(?=[0-9])', '')|#set($q = \"it\\'s\")$q.replaceAll(\"\\\\'\", \"'\")",
    "arith": "#set($a = 7 / 2)#set($b = -7 / 2)#set($c = -7 % 3)#set($d = 7 / 2.0)#set($e = 2 * 3 + 1)"
             "$a|$b|$c|$d|$e",
    "concat": "#set($x = 'a' + 1)#set($y = 1 + 'b')$x|$y",
    "compare": "#if(1 < 2)lt#end|#if(2 == 2.0)eq#end|#if('a' == 'a')s#end|#if(1 == '1')mixed#{else}no#end",
    "if_chain": "#set($n = 5)#if($n > 10)big#elseif($n > 3)mid#{else}small#end",
    "foreach": "#foreach($i in [1..4])$i#if($foreach.hasNext),#end#end|#foreach($i in ['a','b'])$velocityCount#end",
    "foreach_index": "#foreach($i in ['x','y','z'])$foreach.index$foreach.count#end",
    "print": "#set($t = true)#set($l = [1, 2])#set($m = {'k': 'v'})$t|$l|$m|$l.size()|$m.size()",
    "double": "#set($d = 1.5)#set($e = 0.1 + 0.2)$d|$e",
    "set_map_hyphen": "#set($m = {})#set($m.X-Amzn-SageMaker-Target-Variant = 'v2')$m",
    "quiet_ref": "[$!nothing]",
    # whitespace and escapes, where airspeed's own parser differs from Velocity
    "set_blanks": "#set($a = 1) #set($b = 2)\t#set($c = 3)\n$a$b$c text #set($d = 4)\n$d\n  #set($e = 5)\n"
                  "$e  #set($f = 6)  \n$f",
    "comments": "A#* c *#\nB ## x\nC#* d *# #set($z = 1)$z\n#* e *#\nD",
    "escapes": "#set($x = 1)[\\$x][\\\\$x][\\\\\\$x][\\\\\\\\$x][\\#if][\\$x.length()][\\\\${x}]",
    "directive_lines": "#if(true) \nX\n#end  \nY\n#foreach($i in [1,2])\n  $i\n#end\n#if(false)\nno\n"
                       "#elseif(true)\n  yes\n#else\n  other\n#end\nZ",
    "set_in_blocks": "#foreach($i in [1,2])\n  #set($j = $i)\n  [$j]\n#end\n#if(true)  #set($k = 1)$k#end",
    "else_lines": "#if(false)\na\n#else\n  b\n#end\n#if(false)a#{else}  \nc#end|#if(false)\n#elseif(false)\n"
                  "#else   \nd\n#end",
    "trailing_backslash": "#set($a = 1)\\$a|x\\",
    "define_lines": "#define($d)\n  inner $v\n#end\n#set($v = 1)\n$d|",
    "nested_indent": "{\n  #foreach($i in [1,2])\n    #if($i == 2)\n    two\n    #end\n  #end\n}",
    "map_list_methods": "#set($m = {'a': 1})#set($old = $m.put('a', 2))#set($none = $m.put('b', 3))$old|$m|"
                        "#set($l = ['x', 'y'])#set($prev = $l.set(1, 'z'))$prev|$l|#set($ign = $m.putAll({'c': 4}))"
                        "$m.size()|$m.remove('a')|$m",
    # conditions, comparisons and Java methods
    "java_if_truth": "#set($e = '')#set($l = [])#set($m = {})#set($z = 0)#set($f = false)#if($e)e#end"
                     "|#if($l)l#end|#if($m)m#end|#if($z)z#end|#if($f)f#end|#if(!$e)ne#end",
    "java_entry_set": "#set($m = {'a': 1, 'b': 'x'})#foreach($e in $m.entrySet())$e.key=$e.value;#end"
                      "|$m.entrySet()|$m.values()",
    "java_string_methods": "#set($s = 'Hello, World')$s.substring(7)|$s.indexOf('o')|$s.lastIndexOf('o')"
                           "|$s.toUpperCase()|$s.replace('l', 'L')|$s.charAt(1)|$s.equals('x')"
                           "|$s.equalsIgnoreCase('hello, world')|$s.endsWith('ld')|$s.concat('!')",
    "java_list_methods": "#set($l = [3, 1, 2])$l.indexOf(2)|$l.isEmpty()|#set($ok = $l.remove(0))$l"
                         "|#set($ok = $l.addAll([7, 8]))$l",
    "java_compare_mixed": "#if('a' < 'b')lt#end|#if(1 == 1.0)eq#end|#if('1' == 1)s#{else}n#end"
                          "|#if($nothing == $nothing2)nn#end",
    "java_int_overflow": "#set($a = 2147483647)#set($b = $a + 1)$b|#set($c = 2147483647 * 2)$c"
                         "|#set($d = 10000000000)$d|#set($e = $d * $d)$e",
    "java_number_formats": "#set($a = 1.0)#set($b = 0.5 * 4)#set($c = 10 / 4.0)$a|$b|$c"
                           "|#set($x = 100000000.0)$x|#set($y = 0.0001)$y",
    "java_range": "#set($n = 3)#foreach($i in [1..$n])$i#end|#foreach($i in [3..1])$i#end"
                  "|#set($r = [0..2])$r",
}

REQUESTS = [
    ("321", "101,131,162", {}),
    ("321", " 101 , 007,,131,", {}),
    ("0321", "0,00,000", {}),
    ("32a1", "1", {}),
    ("321", "1,x'\"}],2", {}),
    ("321", '1]}],"x":[{"in0":[2', {}),
    ("321", "1,2,3", {"maxItems": "2"}),
    ("321", "", {}),
    ("321", " , ,", {}),
    ("321", "1,\u00e9\u2028\U0001F600", {}),
    ("x" * 60, "1", {}),
    ("321", ",".join(str(n) for n in range(1, 101)), {}),
    ("321", ",".join(["7"] * 1500), {}),
] + [(str(user), "5", {"candidate": "v2", "candidatePercent": "10"}) for user in range(0, 300, 13)] + [
    ("polygenelubricants", "5", {"candidate": "v2", "candidatePercent": "50"}),
]


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no JDK installed: the Java Velocity differential test needs `java` on PATH")
    missing = [str(jar) for jar in JARS if not jar.exists()]
    if missing:
        pytest.fail(f"Apache Velocity 1.7 jars missing ({', '.join(missing)}): "
                    "install Debian's `velocity` package (`make test` does when run as root)")
    return java


def _properties(values: dict[str, str]) -> str:
    """java.util.Properties text, with every non-ASCII character as a \\u escape."""
    def escape(text: str) -> str:
        units = text.encode("utf-16-be", "surrogatepass")
        chars = (int.from_bytes(units[i:i + 2], "big") for i in range(0, len(units), 2))
        return "".join(chr(c) if 32 < c < 127 and chr(c) not in "\\=:#!" else f"\\u{c:04x}" for c in chars)

    return "".join(f"{escape(k)}={escape(v)}\n" for k, v in values.items())


@pytest.fixture(scope="module")
def velocity(tmp_path_factory) -> Path:
    java = _java()
    folder = tmp_path_factory.mktemp("velocity")
    for name, source in CORE.items():
        (folder / f"core_{name}.vtl").write_text(source, encoding="utf-8")
    request_template = (ROOT / "vtl" / "request.vtl").read_text(encoding="utf-8")
    for index, (user, items, stage) in enumerate(REQUESTS):
        (folder / f"request_{index:03d}.vtl").write_text(request_template, encoding="utf-8")
        values = {"path.user_id": user, "querystring.items": items, "stage.variant": "v1",
                  **{f"stage.{k}": v for k, v in stage.items()}}
        (folder / f"request_{index:03d}.properties").write_text(_properties(values), encoding="ascii")
    classpath = ":".join(str(jar) for jar in JARS)
    subprocess.run([java, "-cp", classpath, str(ORACLE), str(folder)], check=True, timeout=300,
                   capture_output=True)
    return folder


@pytest.mark.parametrize("name", sorted(CORE))
def test_core_velocity_behaviour_matches(velocity, name):
    expected = (velocity / f"core_{name}.out").read_text(encoding="utf-8")
    assert MappingTemplate(CORE[name]).render(RequestData()).body == expected


@pytest.mark.parametrize("index", range(len(REQUESTS)), ids=[f"{u[:12]}|{i[:24]}" for u, i, _ in REQUESTS])
def test_request_template_matches_velocity(velocity, index):
    user, items, stage = REQUESTS[index]
    ours = MappingTemplate.from_file(ROOT / "vtl" / "request.vtl").render(RequestData(
        path={"user_id": user}, querystring={"items": items}, stage_variables={"variant": "v1", **stage}))
    java_body = (velocity / f"request_{index:03d}.out").read_text(encoding="utf-8")
    assert json.loads(ours.body) == json.loads(java_body)
    java_headers = (velocity / f"request_{index:03d}.headers").read_text(encoding="utf-8").splitlines()
    assert ours.request_headers == dict(line.split("=", 1) for line in java_headers)
