"""The API's edge on the running local stack, over HTTP: the stage cache, AWS WAF's rate rule and
a Cognito user pool authorizer answer as the deployed stage would, and the start-up banner says
what of each is not emulated."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
import yaml

from tests.local_harness import PATH, RunningApi, model_app
from tests.stacks import USER_POOL_ARN

RATE_LIMIT = 150


@pytest.fixture
def api(tmp_path):
    running = RunningApi(tmp_path, {"v1": model_app(), "v2": model_app()}, routing={"live": "v1"},
                         api={"auth": "cognito", "cognito": {"userPoolArn": USER_POOL_ARN},
                              "waf": {"rateLimitPer5Min": RATE_LIMIT}, "cache": {"ttlSeconds": 60}})
    yield running
    running.stop()


def _get(api: RunningApi, headers: dict[str, str]) -> tuple[int, dict[str, str], dict]:
    connection = api.connection()
    try:
        connection.request("GET", f"{PATH}/321?items=101,131", headers=headers)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, json.loads(answer.read())
    finally:
        connection.close()


def _cache_hits(api: RunningApi) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{api.runtime_port}/metrics", timeout=10) as answer:
        variants = json.loads(answer.read())["Variants"]
    return sum(period.get("Gateway", {}).get("CacheHitCount", 0) for periods in variants.values() for period in periods)


def test_the_edge_answers_as_the_deployed_stage_would(api):
    banner = "\n".join(api.reports)
    assert "managed rule groups (AWSManagedRulesCommonRuleSet, AWSManagedRulesKnownBadInputsRuleSet) are not " \
           "emulated" in banner and "its signature is not checked locally" in banner
    assert "stage cache: live's answers kept 60 s" in banner
    token = re.search(r'Authorization: ([^"]+)"', banner).group(1)
    status, _, body = _get(api, {})
    assert (status, body) == (401, {"message": "Unauthorized", "type": "UNAUTHORIZED"})
    authorized = {"Authorization": token}
    first, again = _get(api, authorized), _get(api, authorized)
    assert first[0] == again[0] == 200 and first[2] == again[2]
    assert [json.loads(line)["cacheHit"] for line in api.access_log[-2:]] == [False, True]
    assert _cache_hits(api) == 1
    values = yaml.safe_load(api.stack_file.read_text())
    values["config"]["ratings:routing"] = {"live": "v2"}  # a promotion, as `canary` writes it
    api.stack_file.write_text(yaml.safe_dump(values, sort_keys=False))
    api.values = values
    version = None
    for _ in range(50):  # the gateway reads the file within a quarter of a second
        time.sleep(0.05)
        _, headers, _ = _get(api, authorized)
        version = headers.get("x-model-version")
        if version == "v2":
            break
    assert version == "v2" and json.loads(api.access_log[-1])["cacheHit"] is False, \
        "after the flip the answer is the new live version's, not the cache's"
    answers = [_get(api, authorized) for _ in range(RATE_LIMIT)]
    blocked = [(status, body) for status, _, body in answers if status != 200]
    assert blocked and set(map(json.dumps, blocked)) == {json.dumps([403, {"message": "Forbidden",
                                                                            "type": "WAF_FILTERED"}])}
    assert len(api.access_log) - len(blocked) == RATE_LIMIT, "the client is blocked past the rate rule's limit"
