"""Asking a variant for predictions at bounded cost: batches within the payload limit, the budget,
retries of throttled invocations. The AWS side runs a real boto3 ``sagemaker-runtime`` client under
botocore's Stubber, so every request is checked against the service model AWS publishes."""

from __future__ import annotations

import io
import json

import boto3
import botocore.session
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from canary import prediction_sources as sources
from canary.prediction_sources import Budget, PredictionError, Retry, SageMakerSource
from core.quality import Sample

ENDPOINT = "ratings-prod"


def invoke_endpoint_body_limit() -> tuple[int, int]:
    """InvokeEndpoint's request and response Body limits, from botocore's service model
    (botocore/data/sagemaker-runtime/2017-05-13/service-2.json)."""
    operation = botocore.session.get_session().get_service_model("sagemaker-runtime").operation_model(
        "InvokeEndpoint")
    return (operation.input_shape.members["Body"].metadata["max"],
            operation.output_shape.members["Body"].metadata["max"])


def test_the_payload_limit_is_invoke_endpoints():
    assert invoke_endpoint_body_limit() == (sources.PAYLOAD_LIMIT, sources.PAYLOAD_LIMIT)


def make_sample(users: int, items_per_user: int, first_user: int = 1) -> Sample:
    user_ids = np.repeat(np.arange(first_user, first_user + users), items_per_user)
    item_ids = np.tile(np.arange(1000, 1000 + items_per_user), users)
    return Sample(user_ids, item_ids, np.full(len(user_ids), 4.0), "test")


def answer_for(body: bytes, scores=None) -> bytes:
    count = len(json.loads(body)["instances"])
    scores = scores if scores is not None else [3.0 + 0.001 * n for n in range(count)]
    return json.dumps({"predictions": [{"scores": [s]} for s in scores]}).encode()


def biggest_answer(pairs: int) -> bytes:
    """The longest answer a model could give: every score printed with repr's full 17 digits."""
    return ('{"predictions":[' + ",".join([f'{{"scores":[{1.2345678901234567!r}]}}'] * pairs) + "]}").encode()


@pytest.mark.parametrize(("users", "per_user", "max_pairs", "limit", "invocations"), [
    (943, 10, 10_000, sources.PAYLOAD_LIMIT, 1),  # the hold-out: one invocation
    # 300,000 pairs: the answer's 6 MB decide (38 bytes a score at most: 165,560 pairs, whole users)
    (30_000, 10, 10**9, sources.PAYLOAD_LIMIT, 2),
    (50, 10, 25, sources.PAYLOAD_LIMIT, 25),  # the pair cap decides: two whole users (20 pairs) a batch
    (3, 400, 10**9, 4_000, 12),  # a user too big for one invocation is split: 104 + 104 + 104 + 88 each
])
def test_batches_cover_every_pair_once_within_the_limits(users, per_user, max_pairs, limit, invocations):
    data = make_sample(users, per_user)
    batches = sources.plan_batches(data, max_pairs, limit)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(data))), "every pair asked exactly once"
    for batch in batches:
        assert len(batch) <= max_pairs
        assert len(sources.request_body(data, batch)) <= limit
        assert len(biggest_answer(len(batch))) <= limit
    if per_user * 40 < limit and per_user <= max_pairs:
        for batch in batches:
            users_in = np.unique(data.users[batch])
            assert sum(np.isin(data.users, users_in)) == len(batch), "a user's items stay in one request"
    assert len(batches) == invocations


def stubbed() -> tuple[SageMakerSource, Stubber]:
    client = boto3.client("sagemaker-runtime", region_name="eu-west-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    return SageMakerSource(client, ENDPOINT), Stubber(client)


def expect_invocation(stubber: Stubber, variant: str, body: bytes, answered: str | None = None) -> None:
    payload = answer_for(body)
    stubber.add_response("invoke_endpoint", {
        "Body": StreamingBody(io.BytesIO(payload), len(payload)), "ContentType": "application/json",
        "InvokedProductionVariant": answered or variant,
    }, {"EndpointName": ENDPOINT, "TargetVariant": variant, "ContentType": "application/json",
        "Accept": "application/json", "Body": body})


def throttle(stubber: Stubber, code: str = "ThrottlingException") -> None:
    stubber.add_client_error("invoke_endpoint", service_error_code=code, service_message="Rate exceeded",
                             http_status_code=400, expected_params={"EndpointName": ENDPOINT, "TargetVariant": ANY,
                                                                    "ContentType": ANY, "Accept": ANY, "Body": ANY})


def test_each_invocation_names_the_variant_and_answers_come_back_in_order():
    source, stubber = stubbed()
    data = make_sample(4, 3)
    batches = sources.plan_batches(data, 6)
    for batch in batches:
        expect_invocation(stubber, "v2", sources.request_body(data, batch))
    with stubber:
        answers = sources.predict(source, "v2", data, batches, Budget(10), sleep=lambda s: None)
    stubber.assert_no_pending_responses()
    assert len(batches) == 2 and len(answers.latencies_ms) == 2
    expected = np.concatenate([3.0 + 0.001 * np.arange(len(b)) for b in batches])
    assert answers.predictions[np.concatenate(batches)] == pytest.approx(expected)


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailable"])
def test_throttled_invocations_are_retried_with_backoff_and_count_against_the_budget(code):
    source, stubber = stubbed()
    data = make_sample(2, 2)
    batches = sources.plan_batches(data, 100)
    throttle(stubber, code)
    throttle(stubber, code)
    expect_invocation(stubber, "v2", sources.request_body(data, batches[0]))
    slept: list[float] = []
    budget = Budget(5)
    with stubber:
        answers = sources.predict(source, "v2", data, batches, budget, Retry(attempts=4, base_seconds=0.5),
                                  sleep=slept.append, draw=lambda: 1.0)
    stubber.assert_no_pending_responses()
    assert slept == [0.5, 1.0], "exponential backoff between attempts"
    assert budget.spent == 3 and len(answers.predictions) == 4


def model_error(stubber: Stubber, original_status: int) -> None:
    """SageMaker's ModelError (API reference, InvokeEndpoint: OriginalStatusCode, OriginalMessage)."""
    stubber.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424,
                             service_message=f"Received server error ({original_status}) from primary",
                             modeled_fields={"OriginalStatusCode": original_status, "OriginalMessage": "boom"},
                             expected_params={"EndpointName": ENDPOINT, "TargetVariant": ANY, "ContentType": ANY,
                                              "Accept": ANY, "Body": ANY})


def test_a_models_passing_server_error_is_asked_again_and_a_client_error_is_not():
    """One 500 of a flaky dependency must not decide the gate; a 4xx (the model refusing the
    question) would be refused again, so it is an error at once."""
    source, stubber = stubbed()
    data = make_sample(2, 2)
    batches = sources.plan_batches(data, 100)
    model_error(stubber, 500)
    expect_invocation(stubber, "v2", sources.request_body(data, batches[0]))
    budget = Budget(5)
    with stubber:
        answers = sources.predict(source, "v2", data, batches, budget, sleep=lambda s: None)
    assert budget.spent == 2 and not np.isnan(answers.predictions).any()
    model_error(stubber, 400)
    with stubber, pytest.raises(PredictionError, match="SageMaker refused the invocation"):
        sources.predict(source, "v2", data, batches, Budget(5), sleep=lambda s: None)
    for _ in range(3):
        model_error(stubber, 500)
    with stubber, pytest.raises(PredictionError, match="v2: still failing with a server error after 3 attempts"):
        sources.predict(source, "v2", data, batches, Budget(10), Retry(attempts=3), sleep=lambda s: None)


def test_throttling_that_does_not_end_is_one_clear_error():
    source, stubber = stubbed()
    data = make_sample(1, 2)
    for _ in range(3):
        throttle(stubber)
    with stubber, pytest.raises(PredictionError, match="v2: still throttled after 3 attempts"):
        sources.predict(source, "v2", data, sources.plan_batches(data, 100), Budget(10), Retry(attempts=3),
                        sleep=lambda s: None)
    stubber.assert_no_pending_responses()


def test_retries_stop_when_the_budget_is_spent():
    source, stubber = stubbed()
    data = make_sample(1, 2)
    throttle(stubber)
    throttle(stubber)
    with stubber, pytest.raises(PredictionError, match="the budget of 2 invocations is spent"):
        sources.predict(source, "v2", data, sources.plan_batches(data, 100), Budget(2), Retry(attempts=5),
                        sleep=lambda s: None)
    stubber.assert_no_pending_responses()


def test_a_plan_over_budget_is_refused_before_any_request():
    data = make_sample(10, 3)
    batches = sources.plan_batches(data, 6)
    with pytest.raises(PredictionError, match=r"10 invocations needed \(5 per version, 2 versions\), more than the "
                                              r"budget of 9"):
        Budget(9).check(len(batches))
    Budget(10).check(len(batches))


def test_an_answer_from_another_variant_is_refused():
    source, stubber = stubbed()
    data = make_sample(1, 2)
    batches = sources.plan_batches(data, 100)
    expect_invocation(stubber, "v2", sources.request_body(data, batches[0]), answered="v1")
    with stubber, pytest.raises(PredictionError, match="v2: the endpoint answered from variant v1"):
        sources.predict(source, "v2", data, batches, Budget(10))


def test_a_model_error_is_one_line_naming_the_variant():
    source, stubber = stubbed()
    data = make_sample(1, 2)
    stubber.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424,
                             service_message="Received server error (500) from primary")
    with stubber, pytest.raises(PredictionError, match=r"v3: SageMaker refused the invocation: .*ModelError"):
        sources.predict(source, "v3", data, sources.plan_batches(data, 100), Budget(10))


@pytest.mark.parametrize(("payload", "message"), [
    (b"<html>oops</html>", "not Object2Vec's predictions JSON"),
    (b'{"predictions": [{"scores": [3.1]}]}', "1 predictions for 2 pairs"),
])
def test_an_answer_that_is_not_predictions_is_refused(payload, message):
    class Fixed:
        def invoke(self, variant, body):
            return payload

    data = make_sample(1, 2)
    with pytest.raises(PredictionError, match=message):
        sources.predict(Fixed(), "v2", data, sources.plan_batches(data, 100), Budget(10))


def test_a_local_runtime_that_is_down_is_one_clear_error():
    from tests.conftest import free_port

    source = sources.LocalRuntimeSource(f"http://127.0.0.1:{free_port()}", "ratings-local", timeout=5)
    with pytest.raises(PredictionError, match=r"cannot reach the local runtime at .* is the local API running"):
        source.invoke("v1", b'{"instances":[]}')


def test_bodies_sent_through_boto3_stay_within_the_payload_limit():
    source, stubber = stubbed()
    data = make_sample(30_000, 10)  # 300,000 pairs: more than one 6 MB answer
    batches = sources.plan_batches(data, 10**9)
    sizes: list[int] = []
    source.client.meta.events.register("before-parameter-build.sagemaker-runtime.InvokeEndpoint",
                                       lambda params, **kwargs: sizes.append(len(params["Body"])))
    for batch in batches:
        expect_invocation(stubber, "v2", sources.request_body(data, batch))
    with stubber:
        answers = sources.predict(source, "v2", data, batches, Budget(2))
    stubber.assert_no_pending_responses()
    request_limit, _ = invoke_endpoint_body_limit()
    assert len(sizes) == 2 and max(sizes) <= request_limit
    assert not np.isnan(answers.predictions).any()


def _prod_gate(tmp_path, budget: int):
    from canary import quality_gate
    from core import config as stack_config
    from tests.stacks import example

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("".join(f"{user},{item},4\n" for user in range(1, 61) for item in range(1, 11)))
    config = stack_config.parse(example("prod"))  # live v1, a 10 % canary of v2, on SageMaker
    request = quality_gate.CompareRequest(pairs=pairs, artifacts=tmp_path / "none", budget=budget)
    return config, request


def _on_sagemaker(config, source):
    """The prod stack's target, as its backend describes it, asked through the stubbed client."""
    from canary import quality_gate
    from canary.backends import CloudBackend

    return quality_gate.Target("prod", source, CloudBackend(None).target(config))


def test_the_gate_on_a_cloud_stack_asks_each_variant_by_name(tmp_path):
    from canary import quality_gate

    source, stubber = stubbed()
    config, request = _prod_gate(tmp_path, budget=2)
    data = quality_gate.sample_for(request, {}, "v1", "v2")
    body = sources.request_body(data, sources.plan_batches(data, request.batch_pairs)[0])
    for variant in ("v1", "v2"):
        expect_invocation(stubber, variant, body)
    said: list[str] = []
    with stubber:
        outcome = quality_gate.run(config, _on_sagemaker(config, source), tmp_path, request, said.append)
    stubber.assert_no_pending_responses()
    assert said == ["about to send 2 invocations (1 per version, 600 pairs, each body at most 6 MiB) to endpoint "
                    "ratings-prod on SageMaker in eu-west-1"]
    assert outcome.result.comparison.pairs == 600
    assert outcome.result.verdict.value == "pass", "the same answers from both variants"
    assert outcome.result.comparison.candidate.fallback_share is None, "no arrays here: fallbacks unknown"


def test_the_gate_on_a_cloud_stack_sends_nothing_over_budget(tmp_path):
    from canary import quality_gate

    source, stubber = stubbed()
    config, request = _prod_gate(tmp_path, budget=1)
    with stubber, pytest.raises(PredictionError, match="2 invocations needed"):
        quality_gate.run(config, _on_sagemaker(config, source), tmp_path, request, lambda line: None)
    stubber.assert_no_pending_responses()
