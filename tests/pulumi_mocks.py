"""Run the Pulumi program (``__main__.py``) under Pulumi mocks and record every resource.

Resources are collected in ``Mocks.new_resource`` and examined after the program settles, so
assertions never race the registrations still in flight.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import unittest.mock
from dataclasses import dataclass
from typing import Any

import pulumi

from tests.stacks import ROOT

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    ignore_changes: tuple[str, ...] = ()  # the resource option, as the program declared it


def _physical_name(args: pulumi.runtime.MockResourceArgs, suffix: str) -> str:
    """An explicit ``name`` input, or Pulumi's auto-name: logical name plus 7 random characters."""
    return args.inputs.get("name") or f"{args.name}-{suffix}"


def realistic_outputs(args: pulumi.runtime.MockResourceArgs, suffix: str = "a1b2c3d") -> dict[str, Any]:
    """Outputs AWS would report for a resource of this type token."""
    name = _physical_name(args, suffix)
    arn_prefix = f"arn:aws:{{}}:{REGION}:{ACCOUNT_ID}"
    by_type = {
        "aws:iam/role:Role": {"name": name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"},
        "aws:sagemaker/model:Model": {"name": name, "arn": f"{arn_prefix.format('sagemaker')}:model/{name}"},
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration": {
            "name": name, "arn": f"{arn_prefix.format('sagemaker')}:endpoint-config/{name}"},
        "aws:sagemaker/endpoint:Endpoint": {
            "name": name, "arn": f"{arn_prefix.format('sagemaker')}:endpoint/{name.lower()}"},
        "aws:cloudwatch/metricAlarm:MetricAlarm": {
            "name": name, "arn": f"{arn_prefix.format('cloudwatch')}:alarm:{name}"},
        "aws:cloudwatch/logGroup:LogGroup": {"name": name, "arn": f"{arn_prefix.format('logs')}:log-group:{name}"},
        "aws:apigateway/restApi:RestApi": {"name": name, "rootResourceId": "root0123",
                                           "executionArn": f"{arn_prefix.format('execute-api')}:abc123"},
        "aws:apigateway/stage:Stage": {
            "invokeUrl": f"https://abc123.execute-api.{REGION}.amazonaws.com/{args.inputs.get('stageName')}",
            "arn": f"arn:aws:apigateway:{REGION}::/restapis/abc123/stages/{args.inputs.get('stageName')}"},
        "aws:apigateway/domainName:DomainName": {
            "arn": f"arn:aws:apigateway:{REGION}::/domainnames/{args.inputs.get('domainName')}",
            "regionalDomainName": f"d-abc123def0.execute-api.{REGION}.amazonaws.com",
            "regionalZoneId": "ZLY8HYME6SFDD"},
        "aws:wafv2/webAcl:WebAcl": {
            "name": name, "arn": f"{arn_prefix.format('wafv2')}:regional/webacl/{name}/{suffix}-0000"},
        "aws:apigateway/apiKey:ApiKey": {"value": "k" * 40},
        "aws:sns/topic:Topic": {"name": name, "arn": f"{arn_prefix.format('sns')}:{name}"},
        "aws:sns/topicSubscription:TopicSubscription": {
            "arn": f"{arn_prefix.format('sns')}:{args.inputs.get('topic', '').rsplit(':', 1)[-1]}:{suffix}"},
        "aws:cloudwatch/dashboard:Dashboard": {
            "dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{args.inputs.get('dashboardName')}"},
    }
    return {**args.inputs, **by_type.get(args.typ, {})}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.program: dict[str, Any] = {}  # the program's globals once it has run (its components)
        self.exports: dict[str, Any] = {}  # the stack outputs, resolved
        self.ignored: dict[tuple[str, str], tuple[str, ...]] = {}  # (type, name) -> ignore_changes

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = realistic_outputs(args)
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), outputs,
                                         self.ignored.get((args.typ, args.name), ())))
        return f"{args.name}-id", outputs

    def record_options(self, args: pulumi.ResourceTransformationArgs) -> None:
        """A stack transformation: the mocks see inputs, not options, so options are read here."""
        if args.opts is not None and args.opts.ignore_changes:
            self.ignored[(args.type_, args.name)] = tuple(args.opts.ignore_changes)

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci", "userId": "AIDA0"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise NotImplementedError(f"no mock for invoke {args.token}")

    def of_type(self, token: str) -> list[Registered]:
        return [r for r in self.resources if r.type == token]

    def one(self, token: str) -> Registered:
        found = self.of_type(token)
        assert len(found) == 1, f"expected exactly one {token}, found {[r.name for r in found]}"
        return found[0]


def _wire(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def run_program(values: dict[str, Any], stack: str = "test",
                mocks: RecordingMocks | None = None) -> RecordingMocks:
    """Run ``__main__.py`` with ``values`` as the stack config; return what it registered."""
    mocks = mocks or RecordingMocks()
    # Pulumi's test runner uses the thread's current loop; asyncio.run() elsewhere clears it.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(mocks, project="ratings", stack=stack, preview=False)
    pulumi.runtime.set_all_config({key: _wire(value) for key, value in values.items()})
    exported: dict[str, Any] = {}

    def program() -> pulumi.Output:
        pulumi.runtime.register_stack_transformation(mocks.record_options)
        with unittest.mock.patch.object(pulumi, "export", exported.__setitem__):
            mocks.program.update(runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"))
        return pulumi.Output.all(**exported).apply(mocks.exports.update)

    try:
        pulumi.runtime.test(program)()
    finally:
        pulumi.runtime.set_all_config({})
    return mocks
