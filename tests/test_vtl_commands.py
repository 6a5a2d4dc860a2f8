"""`ratings vtl render`: the article's example, overrides, and one clear error per mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ratings.cli import main
from tests.stacks import ROOT

REQUEST = str(ROOT / "vtl" / "request.vtl")
RESPONSE = str(ROOT / "vtl" / "response.vtl")
ARTICLE_BODY = {"instances": [{"in0": [321], "in1": [101]}, {"in0": [321], "in1": [131]},
                              {"in0": [321], "in1": [162]}]}


def invoke(*args: str):
    return CliRunner().invoke(main, ["vtl", "render", *args])


def test_console_script_renders_the_articles_example():
    script = Path(sys.executable).with_name("ratings")
    done = subprocess.run([str(script), "vtl", "render", REQUEST, "--path", "user_id=321",
                           "--query", "items=101,131,162&"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ARTICLE_BODY


def test_response_template_renders_against_a_body_file(tmp_path):
    body = tmp_path / "model.json"
    body.write_text(json.dumps({"predictions": [{"scores": [3.527499437332153]}, {"scores": [3.951640844345093]}]}))
    result = invoke(RESPONSE, "--body", str(body), "--pretty")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ratings": [3.527499437332153, 3.951640844345093]}


def test_overrides_are_reported_apart_from_the_body():
    result = invoke(REQUEST, "--path", "user_id=22", "--query", "items=5", "--stage-var", "candidate=v2",
                    "--stage-var", "candidatePercent=10")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"instances": [{"in0": [22], "in1": [5]}]}
    assert "override request header X-Amzn-SageMaker-Target-Variant: v2" in result.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--path", "user_id"], 2, "'user_id' is not NAME=VALUE"),
    (["--header", "=x"], 2, "'=x' is not NAME=VALUE"),
    (["--body", "/nonexistent.json"], 2, "does not exist"),
])
def test_usage_errors(args, code, message):
    result = invoke(REQUEST, *args)
    assert result.exit_code == code and message in result.output


def test_template_errors_name_the_line(tmp_path):
    broken = tmp_path / "broken.vtl"
    broken.write_text("{\n#foreach($i in [1..1001])$i#end\n}")
    result = invoke(str(broken))
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: broken.vtl, line 2: #foreach over 1001 items exceeds API Gateway's "
                                     "limit of 1000 iterations")


def test_missing_template_is_a_usage_error():
    result = invoke("vtl/nope.vtl")
    assert result.exit_code == 2 and "does not exist" in result.output
