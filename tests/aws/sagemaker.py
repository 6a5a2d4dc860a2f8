"""SageMaker's control plane for one account and region: models, endpoint configurations and
endpoints, with the endpoint lifecycle that decides whether a rollout step stood.

Sources, cited where each behaviour is encoded: the SageMaker API reference pages
CreateEndpoint, UpdateEndpoint, DescribeEndpoint, DeleteEndpointConfig and CreateEndpointConfig
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/), and the developer guide's
"Deployment guardrails" pages for what an update without guardrails does (a blue/green swap).

Time is counted in DescribeEndpoint polls: an operation settles after ``settle_polls`` of them,
which is how waiters (the provider's, `canary`'s) see it happen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tests.aws.clients import AwsError, Handler

ACCOUNT = "123456789012"
CREATING, UPDATING, IN_SERVICE, FAILED = "Creating", "Updating", "InService", "Failed"


@dataclass
class Faults:
    """What goes wrong, set by a test."""

    update_fails: str | None = None  # the FailureReason of the next update, which SageMaker rolls back
    create_fails: str | None = None  # the FailureReason of the next create, which ends Failed
    throttled_describes: int = 0  # DescribeEndpoint calls answered ThrottlingException from now on


@dataclass
class Endpoint:
    name: str
    config: str  # the configuration it runs
    variants: list[dict[str, Any]]  # the fleet it runs: its own, whatever becomes of the configuration
    status: str
    created: dt.datetime
    modified: dt.datetime
    failure_reason: str = ""
    target: str | None = None  # the configuration an update is moving to
    polls_left: int = 0  # DescribeEndpoint polls until the pending operation settles
    fails_with: str | None = None  # the pending operation fails with this reason


@dataclass
class SageMaker:
    region: str = "eu-west-1"
    settle_polls: int = 2
    faults: Faults = field(default_factory=Faults)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # every operation, in order
    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 12, 1, tzinfo=dt.UTC))

    def arn(self, kind: str, name: str) -> str:
        # SageMaker lower-cases resource names in ARNs (visible in every DescribeEndpoint answer).
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:{kind}/{name.lower()}"

    # --- models and configurations ---------------------------------------------------------

    def create_model(self, name: str, container: dict[str, Any]) -> None:
        self.calls.append("CreateModel")
        if name in self.models:
            raise AwsError("ValidationException", f'Cannot create already existing model "{self.arn("model", name)}".')
        self.models[name] = container

    def delete_model(self, name: str) -> None:
        self.calls.append("DeleteModel")
        if self.models.pop(name, None) is None:
            raise AwsError("ValidationException", f'Could not find model "{self.arn("model", name)}".')

    def create_endpoint_config(self, name: str, variants: list[dict[str, Any]]) -> None:
        """CreateEndpointConfig: every variant names an existing model (API reference, ModelName)."""
        self.calls.append("CreateEndpointConfig")
        if name in self.configs:
            arn = self.arn("endpoint-config", name)
            raise AwsError("ValidationException", f'Cannot create already existing endpoint configuration "{arn}".')
        for variant in variants:
            if variant["ModelName"] not in self.models:
                arn = self.arn("model", variant["ModelName"])
                raise AwsError("ValidationException", f'Could not find model "{arn}".')
        self.configs[name] = [dict(variant) for variant in variants]

    def delete_endpoint_config(self, name: str) -> None:
        """DeleteEndpointConfig succeeds even while an endpoint runs on the configuration: "If you
        delete the EndpointConfig of an endpoint that is active or being created or updated you may
        lose visibility into the instance type the endpoint is using" (API reference)."""
        self.calls.append("DeleteEndpointConfig")
        if self.configs.pop(name, None) is None:
            raise AwsError("ValidationException",
                           f'Could not find endpoint configuration "{self.arn("endpoint-config", name)}".')

    # --- endpoints ---------------------------------------------------------------------------

    def create_endpoint(self, name: str, config: str) -> None:
        """CreateEndpoint: the name stays taken by the endpoint, whatever its status, until it is
        deleted; a failed create leaves a Failed endpoint under it (DescribeEndpoint: Failed)."""
        self.calls.append("CreateEndpoint")
        if name in self.endpoints:
            raise AwsError("ValidationException",
                           f'Cannot create already existing endpoint "{self.arn("endpoint", name)}".')
        variants = self._config(config)
        reason, self.faults.create_fails = self.faults.create_fails, None
        self.endpoints[name] = Endpoint(name, config, [dict(v) for v in variants], CREATING, self.now, self.now,
                                        polls_left=self.settle_polls, fails_with=reason)

    def update_endpoint(self, name: str, config: str) -> None:
        """UpdateEndpoint without guardrails is a blue/green swap; when the new fleet fails SageMaker
        keeps the previous configuration serving, and DescribeEndpoint's FailureReason says why
        ("the status is InService but update operation fails")."""
        self.calls.append("UpdateEndpoint")
        endpoint = self._endpoint(name)
        if endpoint.status != IN_SERVICE:
            raise AwsError("ValidationException",
                           f'Cannot update in-progress endpoint "{self.arn("endpoint", name)}".')
        self._config(config)
        reason, self.faults.update_fails = self.faults.update_fails, None
        endpoint.status, endpoint.target, endpoint.polls_left = UPDATING, config, self.settle_polls
        endpoint.fails_with, endpoint.modified = reason, self.now

    def delete_endpoint(self, name: str) -> None:
        self.calls.append("DeleteEndpoint")
        del self.endpoints[self._endpoint(name).name]

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        """One poll: a pending operation moves on, then the endpoint as DescribeEndpoint shows it."""
        self.calls.append("DescribeEndpoint")
        endpoint = self._endpoint(name)
        self._poll(endpoint)
        answer: dict[str, Any] = {
            "EndpointName": endpoint.name, "EndpointArn": self.arn("endpoint", endpoint.name),
            "EndpointConfigName": endpoint.config, "EndpointStatus": endpoint.status,
            "CreationTime": endpoint.created, "LastModifiedTime": endpoint.modified,
            "ProductionVariants": [self._variant_summary(v) for v in endpoint.variants]}
        if endpoint.failure_reason:
            answer["FailureReason"] = endpoint.failure_reason
        return answer

    def settle(self, name: str) -> Endpoint:
        """Poll until the endpoint's pending operation has settled (a waiter's loop)."""
        endpoint = self._endpoint(name)
        while endpoint.polls_left > 0:
            self.describe_endpoint(name)
        return endpoint

    def _poll(self, endpoint: Endpoint) -> None:
        if endpoint.polls_left <= 0:
            return
        self.now += dt.timedelta(minutes=1)
        endpoint.polls_left -= 1
        if endpoint.polls_left > 0:
            return
        if endpoint.status == CREATING:
            endpoint.status = FAILED if endpoint.fails_with else IN_SERVICE
        elif endpoint.fails_with is None and endpoint.target is not None:
            endpoint.config, endpoint.status = endpoint.target, IN_SERVICE
            endpoint.variants = [dict(v) for v in self.configs.get(endpoint.target, endpoint.variants)]
        else:  # rolled back: the previous configuration keeps serving
            endpoint.status = IN_SERVICE
        endpoint.failure_reason = endpoint.fails_with or ""
        endpoint.target, endpoint.fails_with, endpoint.modified = None, None, self.now

    def _variant_summary(self, variant: dict[str, Any]) -> dict[str, Any]:
        count = variant.get("InitialInstanceCount", 1)
        return {"VariantName": variant["VariantName"], "CurrentWeight": variant.get("InitialVariantWeight", 1.0),
                "DesiredWeight": variant.get("InitialVariantWeight", 1.0), "CurrentInstanceCount": count,
                "DesiredInstanceCount": count}

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            # SageMakerProbe relies on this code: ValidationException for an endpoint that does not exist
            raise AwsError("ValidationException", f'Could not find endpoint "{self.arn("endpoint", name)}".')
        return endpoint

    def _config(self, name: str) -> list[dict[str, Any]]:
        if name not in self.configs:
            raise AwsError("ValidationException",
                           f'Could not find endpoint configuration "{self.arn("endpoint-config", name)}".')
        return self.configs[name]

    # --- the API as boto3 reaches it ----------------------------------------------------------

    def handlers(self) -> dict[str, Handler]:
        """Operations answered through a boto3 ``sagemaker`` client (tests.aws.clients)."""

        def describe(params: dict[str, Any]) -> dict[str, Any]:
            if self.faults.throttled_describes > 0:
                self.faults.throttled_describes -= 1
                self.calls.append("DescribeEndpoint (throttled)")
                raise AwsError("ThrottlingException", "Rate exceeded")
            return self.describe_endpoint(params["EndpointName"])

        return {"DescribeEndpoint": describe}
