"""What the local gateway serves, built from the stack config and its OpenAPI document.

A GatewayState is immutable: a changed ``Pulumi.local.yaml`` builds a new one and the gateway
swaps it in, while requests already running finish with the state they started with.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import openapi, routing
from core.config import StackConfig
from core.stack_file import read as read_stack_file
from emulator import reload
from emulator.constants import JSON
from emulator.vtl import MappingTemplate

LOCAL_ROLE = "arn:aws:iam::000000000000:role/local-runtime"


@dataclass(frozen=True)
class IntegrationResponse:
    pattern: re.Pattern[str] | None  # None for "default"
    status: int
    template: MappingTemplate
    parameters: dict[str, str]


@dataclass(frozen=True)
class Operation:
    method: str
    path: re.Pattern[str]
    required: dict[str, list[str]]  # location ("path", "querystring", "header") -> names
    validate_parameters: bool
    endpoint_name: str
    request_parameters: dict[str, str]
    request_template: MappingTemplate
    responses: tuple[IntegrationResponse, ...]


@dataclass(frozen=True)
class GatewayState:
    config: StackConfig
    document: dict[str, Any]
    operations: tuple[Operation, ...]
    gateway_responses: dict[str, dict[str, Any]]
    stage_variables: dict[str, str]
    canary: routing.CanarySettings | None
    loaded_at: float = field(default_factory=time.time)

    @property
    def stage(self) -> str:
        return self.config.api.stage_name


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([^}/]+)\}", template)
    regex = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>[^/]+)" for n, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def _endpoint_of(uri: str) -> str:
    match = re.search(r":runtime\.sagemaker:path/endpoints/([^/]+)/invocations$", uri)
    if match is None:
        raise ValueError(f"integration uri {uri!r} is not a SageMaker runtime invocation")
    return match.group(1)


def _operation(path: str, method: str, spec: dict[str, Any], validators: dict[str, Any]) -> Operation:
    integration = spec["x-amazon-apigateway-integration"]
    required: dict[str, list[str]] = {"path": [], "querystring": [], "header": []}
    for parameter in spec.get("parameters", []):
        if parameter.get("required"):
            location = {"query": "querystring"}.get(parameter["in"], parameter["in"])
            required[location].append(parameter["name"])
    validator = validators.get(spec.get("x-amazon-apigateway-request-validator", ""), {})
    responses = tuple(
        IntegrationResponse(None if key == "default" else re.compile(key), int(value["statusCode"]),
                            MappingTemplate(value["responseTemplates"][JSON], f"response {key}"),
                            value.get("responseParameters", {}))
        for key, value in integration["responses"].items())
    return Operation(method.upper(), _path_pattern(path), required, bool(validator.get("validateRequestParameters")),
                     _endpoint_of(integration["uri"]), integration.get("requestParameters", {}),
                     MappingTemplate(integration["requestTemplates"][JSON], "request template"),
                     tuple(sorted(responses, key=lambda r: r.pattern is None)))


def build(config: StackConfig) -> GatewayState:
    """Everything the gateway needs, from the same document `pulumi up` deploys."""
    integration = openapi.Integration(config.endpoint.name, LOCAL_ROLE, config.region)
    document = openapi.build_document(config.api, openapi.Templates.load(), integration)
    validators = document.get("x-amazon-apigateway-request-validators", {})
    operations = tuple(_operation(path, method, spec, validators)
                       for path, methods in document["paths"].items() for method, spec in methods.items())
    return GatewayState(config, document, operations, document.get("x-amazon-apigateway-gateway-responses", {}),
                        routing.stage_variables(config.routing, config.api.max_items),
                        routing.canary_settings(config.routing))


@dataclass(frozen=True)
class Edit:
    """The last version of the stack file the gateway read, and what it made of it."""

    mtime_ns: int
    size: int
    applied: bool
    message: str


class StateHolder:
    """The current state, rebuilt when the stack file changes (checked at most every 250 ms).

    A broken edit, or one that routes to a version without a model server (``running``), keeps
    the previous state and reports the problem once; settings that need a restart are reported
    as such rather than as applied. ``last_edit`` says what became of the file's last version.
    """

    CHECK_EVERY = 0.25

    def __init__(self, stack_file: Path, report: Callable[[str], None] = print,
                 running: Collection[str] | None = None):
        self.stack_file = stack_file
        self._report = report
        self._running = running  # read at every reload: the running stack adds and removes versions
        self._on_config: Callable[[StackConfig], None] = lambda config: None
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self.state = build(read_stack_file(stack_file).config)
        self.last_edit = Edit(*self._stamp, True, f"serving {reload.applied_summary(self.state.config)}")

    def _file_stamp(self) -> tuple[int, int]:
        status = self.stack_file.stat()
        return status.st_mtime_ns, status.st_size

    def current(self) -> GatewayState:
        now = time.monotonic()
        if now - self._checked >= self.CHECK_EVERY:
            self._checked = now
            self._maybe_reload()
        return self.state

    def follow(self, running: Collection[str], on_config: Callable[[StackConfig], None]) -> None:
        """Read the versions running from ``running`` (kept up to date by its owner) and show every
        valid version of the file to ``on_config``, which starts and stops servers to match."""
        self._running, self._on_config = running, on_config

    def recheck(self) -> None:
        """Read the file again at the next check though it did not change, if its last version was
        not applied: an edit waiting for a model server applies once the server is up."""
        if not self.last_edit.applied:
            self._stamp = (-1, -1)

    def _maybe_reload(self) -> None:
        try:
            stamp = self._file_stamp()
        except OSError:
            return
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            config = read_stack_file(self.stack_file).config
            self._on_config(config)
            problems = [] if self._running is None else reload.unservable(config, self._running)
            if problems:
                raise ValueError("; ".join(problems))
            state = build(config)
        except Exception as error:  # noqa: BLE001  # any bad edit: keep serving the last good state
            self._edited(stamp, False, f"{self.stack_file}: not applied, still serving the previous config: {error}")
            return
        notes = reload.restart_notes(self.state.config, config)
        self.state = state
        self._edited(stamp, True, f"{self.stack_file}: applied ({reload.applied_summary(config)})"
                     + "".join(f"; {note}" for note in notes))

    def _edited(self, stamp: tuple[int, int], applied: bool, message: str) -> None:
        self.last_edit = Edit(*stamp, applied, message)
        self._report(message)
