"""The local stage's GetStage: what the running gateway serves, read the way one reads AWS.

Checked with a real boto3 ``apigateway`` client pointed at the local runtime, so the answer has
the shape botocore's model of GetStage expects (API Gateway API reference, GetStage: ``variables``
and ``canarySettings`` with ``percentTraffic`` and ``stageVariableOverrides``), and read back with
the same interpretation ``canary status`` applies (``core.routing.served_by_get_stage``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from canary.metrics_sources import LocalRuntime
from core import routing
from tests.local_harness import RunningApi, model_app


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    running = RunningApi(tmp_path_factory.mktemp("stage"), {"v1": model_app(), "v2": model_app()},
                         routing={"live": "v1", "canary": {"version": "v2", "percent": 12.5}})
    yield running
    running.stop()


def _client(api: RunningApi):
    return boto3.client("apigateway", endpoint_url=f"http://127.0.0.1:{api.runtime_port}", region_name="eu-west-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def test_boto3_reads_the_served_stage(api):
    stage = _client(api).get_stage(restApiId="local", stageName="local")
    assert stage["stageName"] == "local"
    assert stage["variables"] == {"variant": "v1", "maxItems": "100"}
    assert stage["canarySettings"]["percentTraffic"] == 12.5
    assert stage["canarySettings"]["stageVariableOverrides"] == {"variant": "v2"}
    assert routing.served_by_get_stage(stage) == routing.Routing("v1", routing.Canary("v2", 12.5))


def test_canary_reads_the_same_through_its_local_source(api):
    served = LocalRuntime(f"http://127.0.0.1:{api.runtime_port}").served("local")
    assert served.same_traffic(routing.Routing("v1", routing.Canary("v2", 12.5)))


@pytest.mark.parametrize(("api_id", "stage", "message"), [
    ("abc123", "local", "Invalid API identifier specified"), ("local", "prod", "Invalid stage identifier specified"),
])
def test_an_unknown_api_or_stage_is_aws_not_found(api, api_id, stage, message):
    with pytest.raises(ClientError) as raised:
        _client(api).get_stage(restApiId=api_id, stageName=stage)
    error = raised.value.response
    assert error["Error"]["Code"] == "NotFoundException" and message in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_other_methods_are_refused_with_json(api):
    request = urllib.request.Request(f"http://127.0.0.1:{api.runtime_port}/restapis/local/stages/local",
                                     method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 405 and "answers GET" in json.loads(raised.value.read())["message"]
