"""Asking one production variant for predictions: through the local runtime, or SageMaker's
``InvokeEndpoint`` with ``TargetVariant`` and the caller's credentials.

Cost is bounded before the first request: pairs are packed into as few invocations as the
runtime's payload limit allows (each user's items stay in one request, as the API asks them),
the invocations are counted against a budget, and a throttled invocation is retried with
exponential backoff and jitter, each retry counted too.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core import aws_limits
from core.quality import Answers, Sample

JSON = "application/json"
TARGET_HEADER = "X-Amzn-SageMaker-Target-Variant"
# InvokeEndpoint's request and response bodies: at most 6 MB (6,291,456 bytes), the max of both Body
# shapes in botocore's model (core/aws_limits.json, read from sagemaker-runtime's service-2.json) and
# the real-time payload quota ("Payload size for inference", AWS Marketplace ML restrictions and limits,
# https://docs.aws.amazon.com/marketplace/latest/userguide/ml-service-restrictions-and-limits.html).
PAYLOAD_LIMIT = aws_limits.invoke_payload_bytes()
REQUEST_ENVELOPE = len('{"instances":[]}')
RESPONSE_ENVELOPE = len('{"predictions":[]}')
# '{"scores":[x]},' with x a float printed by repr(): at most 24 characters
RESPONSE_BYTES_PER_PAIR = len('{"scores":[]},') + 24
DEFAULT_BUDGET = 200  # invocations: the whole default hold-out takes 2
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException",
                              "RequestLimitExceeded", "ServiceUnavailable"})

MSG_BUDGET = ("{needed} invocations needed ({batches} per version, 2 versions), more than the budget of "
              "{budget}; raise --budget or ask for fewer pairs with --sample")
MSG_BUDGET_SPENT = "the budget of {budget} invocations is spent (throttling retries count too); raise --budget"
MSG_THROTTLED = "{variant}: still {reason} after {attempts} attempts; try again later or lower the load"
MSG_MODEL_FAILING = "failing with a server error"
MSG_BAD_ANSWER = "{variant}: the answer is not Object2Vec's predictions JSON ({problem})"
MSG_COUNT = "{variant}: {got} predictions for {sent} pairs"
MSG_WRONG_VARIANT = "{variant}: the endpoint answered from variant {answered}"
MSG_RUNTIME_DOWN = "cannot reach the local runtime at {url} ({error}); is the local API running (make local)?"


class PredictionError(RuntimeError):
    """A comparison that cannot go on; the message says which version and why."""


class Throttled(Exception):
    """An invocation worth another try later: the runtime refused it for its rate, or the model
    failed it with a server error (one 500 of a flaky dependency must not decide the gate)."""

    def __init__(self, reason: str = "throttled"):
        super().__init__(reason)
        self.reason = reason


class PredictionSource(Protocol):
    """One invocation of a variant: request body in, response body out."""

    def invoke(self, variant: str, body: bytes) -> bytes: ...


# --- planning ---------------------------------------------------------------------------------

def _instance(user: int, item: int) -> str:
    return f'{{"in0":[{user:d}],"in1":[{item:d}]}}'


def _pair_bytes(sample: Sample, rows: np.ndarray) -> tuple[int, int]:
    """Bytes a group of pairs adds to the request body and (at most) to the response body."""
    request = sum(len(_instance(u, i)) + 1 for u, i in zip(sample.users[rows].tolist(), sample.items[rows].tolist(),
                                                                        strict=True))
    return request, RESPONSE_BYTES_PER_PAIR * len(rows)


def plan_batches(sample: Sample, max_pairs: int, payload_limit: int = PAYLOAD_LIMIT) -> list[np.ndarray]:
    """Rows per invocation: whole users' groups packed while both bodies stay within the limit and
    the batch within ``max_pairs``; a group too large on its own is split."""
    batches: list[np.ndarray] = []
    current: list[np.ndarray] = []
    sizes = [REQUEST_ENVELOPE, RESPONSE_ENVELOPE, 0]

    def fits(request: int, response: int, pairs: int) -> bool:
        return (sizes[0] + request <= payload_limit and sizes[1] + response <= payload_limit
                and sizes[2] + pairs <= max_pairs)

    def close() -> None:
        if current:
            batches.append(np.concatenate(current))
            current.clear()
            sizes[:] = [REQUEST_ENVELOPE, RESPONSE_ENVELOPE, 0]

    for group in sample.user_groups():
        for part in _parts(sample, group, max_pairs, payload_limit):
            request, response = _pair_bytes(sample, part)
            if not fits(request, response, len(part)):
                close()
            current.append(part)
            sizes[0] += request
            sizes[1] += response
            sizes[2] += len(part)
    close()
    return batches


def _parts(sample: Sample, group: np.ndarray, max_pairs: int, payload_limit: int) -> list[np.ndarray]:
    """A user's group, split only when it cannot fit one invocation by itself."""
    request, response = _pair_bytes(sample, group)
    if (len(group) <= max_pairs and REQUEST_ENVELOPE + request <= payload_limit
            and RESPONSE_ENVELOPE + response <= payload_limit):
        return [group]
    per_pair = max(RESPONSE_BYTES_PER_PAIR, max(len(_instance(u, i)) + 1 for u, i in zip(
        sample.users[group].tolist(), sample.items[group].tolist(), strict=True)))
    size = max(1, min(max_pairs, (payload_limit - max(REQUEST_ENVELOPE, RESPONSE_ENVELOPE)) // per_pair))
    return [group[start:start + size] for start in range(0, len(group), size)]


def request_body(sample: Sample, rows: np.ndarray) -> bytes:
    instances = ",".join(_instance(u, i) for u, i in zip(sample.users[rows].tolist(), sample.items[rows].tolist(),
                                                         strict=True))
    return ('{"instances":[' + instances + "]}").encode()


def estimate_line(batches: list[np.ndarray], pairs: int, target: str) -> str:
    return (f"about to send {2 * len(batches)} invocations ({len(batches)} per version, {pairs:,} pairs, "
            f"each body at most {PAYLOAD_LIMIT / 2**20:g} MiB) to {target}")


# --- asking -----------------------------------------------------------------------------------

class Budget:
    """Invocations left to spend; every attempt, retries included, takes one."""

    def __init__(self, limit: int):
        self.limit, self.spent = limit, 0

    def check(self, batches: int) -> None:
        needed = 2 * batches
        if needed > self.limit:
            raise PredictionError(MSG_BUDGET.format(needed=needed, batches=batches, budget=self.limit))

    def take(self) -> None:
        if self.spent >= self.limit:
            raise PredictionError(MSG_BUDGET_SPENT.format(budget=self.limit))
        self.spent += 1


@dataclass(frozen=True)
class Retry:
    attempts: int = 5
    base_seconds: float = 0.2
    cap_seconds: float = 10.0

    def delay(self, attempt: int, draw: Callable[[], float]) -> float:
        """Full jitter: a uniform draw below the capped exponential step (AWS SDKs do the same)."""
        return draw() * min(self.cap_seconds, self.base_seconds * 2 ** attempt)


def _scores(variant: str, payload: bytes, sent: int) -> list[float]:
    try:
        scores = [float(entry["scores"][0]) for entry in json.loads(payload)["predictions"]]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise PredictionError(MSG_BAD_ANSWER.format(variant=variant, problem=f"{type(error).__name__}: {error}")) \
            from None
    if len(scores) != sent:
        raise PredictionError(MSG_COUNT.format(variant=variant, got=len(scores), sent=sent))
    return scores


def _invoke_with_retries(source: PredictionSource, variant: str, body: bytes, budget: Budget, retry: Retry,
                         sleep: Callable[[float], None], draw: Callable[[], float]) -> tuple[bytes, float]:
    reason = "throttled"
    for attempt in range(retry.attempts):
        budget.take()
        started = time.perf_counter()
        try:
            payload = source.invoke(variant, body)
        except Throttled as refused:
            reason = refused.reason
            if attempt + 1 < retry.attempts:
                sleep(retry.delay(attempt, draw))
            continue
        return payload, (time.perf_counter() - started) * 1000
    raise PredictionError(MSG_THROTTLED.format(variant=variant, reason=reason, attempts=retry.attempts))


def predict(source: PredictionSource, variant: str, sample: Sample, batches: list[np.ndarray], budget: Budget,
            retry: Retry = Retry(), sleep: Callable[[float], None] = time.sleep,
            draw: Callable[[], float] = random.random) -> Answers:
    """Every pair of the sample answered by ``variant``, in the sample's order."""
    predictions = np.full(len(sample), np.nan)
    latencies = []
    for rows in batches:
        payload, milliseconds = _invoke_with_retries(source, variant, request_body(sample, rows), budget, retry,
                                                     sleep, draw)
        predictions[rows] = _scores(variant, payload, len(rows))
        latencies.append(milliseconds)
    return Answers(predictions, latencies)


# --- the two runtimes -------------------------------------------------------------------------

class LocalRuntimeSource:
    """The local SageMaker runtime: ``POST {runtime}/endpoints/{endpoint}/invocations``."""

    def __init__(self, runtime_url: str, endpoint: str, timeout: float = 60):
        self.url = f"{runtime_url.rstrip('/')}/endpoints/{endpoint}/invocations"
        self.timeout = timeout

    def invoke(self, variant: str, body: bytes) -> bytes:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": JSON, "Accept": JSON, TARGET_HEADER: variant})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            if error.code in (429, 503):
                raise Throttled() from None
            answer = _runtime_answer(error)
            if _server_error_of_model(answer.get("ErrorCode"), answer.get("OriginalStatusCode")):
                raise Throttled(MSG_MODEL_FAILING) from None
            raise PredictionError(f"{variant}: {answer.get('Message') or f'HTTP {error.code} from the local runtime'}"
                                  ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PredictionError(MSG_RUNTIME_DOWN.format(url=self.url, error=reason)) from None


def _runtime_answer(error: urllib.error.HTTPError) -> dict:
    try:
        answer = json.loads(error.read())
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _server_error_of_model(code: object, original_status: object) -> bool:
    """SageMaker's ModelError for a model that failed on its side (5xx) or did not answer (0):
    transient more often than not, so the gate asks again rather than stopping on it."""
    return code == "ModelError" and isinstance(original_status, int) and (original_status >= 500
                                                                            or original_status == 0)


class SageMakerSource:
    """SageMaker's ``InvokeEndpoint`` naming the variant; retries are ours (the client makes one
    attempt), so that the budget counts every request sent."""

    def __init__(self, client, endpoint: str):
        self.client, self.endpoint = client, endpoint

    @classmethod
    def for_region(cls, region: str, endpoint: str) -> SageMakerSource:
        import boto3
        from botocore.config import Config

        return cls(boto3.client("sagemaker-runtime", region_name=region,
                                config=Config(retries={"total_max_attempts": 1, "mode": "standard"})), endpoint)

    def invoke(self, variant: str, body: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.invoke_endpoint(EndpointName=self.endpoint, TargetVariant=variant,
                                                 ContentType=JSON, Accept=JSON, Body=body)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in THROTTLING_CODES:
                raise Throttled() from None
            if _server_error_of_model(code, error.response.get("OriginalStatusCode")):
                raise Throttled(MSG_MODEL_FAILING) from None
            raise PredictionError(f"{variant}: SageMaker refused the invocation: {error}") from None
        except BotoCoreError as error:
            raise PredictionError(f"{variant}: cannot call SageMaker: {error}") from None
        answered = answer.get("InvokedProductionVariant")
        if answered and answered != variant:
            raise PredictionError(MSG_WRONG_VARIANT.format(variant=variant, answered=answered))
        return answer["Body"].read()
