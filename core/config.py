"""The typed stack config: one validated model read by the Pulumi program, the local runtime
and the ``canary`` CLI.

It is parsed from the plain values of a ``Pulumi.<stack>.yaml`` ``config:`` mapping
(``ratings:models``, ``aws:region`` ...), never from ``pulumi.Config``, so the same rules hold
with or without the Pulumi engine. Every problem is collected and raised once as ConfigError.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core import aws_limits
from core import config_edge as edge
from core.config_edge import AuthMode, Cache, Cognito, Domain, Waf
from core.config_routing import ROUTING_KEY, parse_routing, routing_values
from core.config_rules import check_cross_field, check_image, check_model_data, check_name
from core.fields import REQUIRED, ConfigError, Section, describe, secret_of, settled
from core.notifications import Notifications, parse_notifications
from core.routing import Routing

PROJECT = "ratings"
SECTIONS = ("endpoint", "models", "routing", "api", "notifications", "local")
REGION_KEY = "aws:region"
MODELS_KEY = f"{PROJECT}:models"
ENDPOINT_KEY = f"{PROJECT}:endpoint"
ROUTING_SETTINGS = ("live", "canary", "previous", "analysis")

MSG_NO_REGION = "aws:region: missing; run `pulumi config set aws:region <region>`"
MSG_NO_MODELS = "models: at least one model version is needed; add an entry under ratings:models"
MSG_MODELS_NOT_LIST = "models: expected a list of model versions, got {got}"
MSG_ENV_VALUE = "{field}: environment values must be text, got {got}; quote the value"
MSG_ENV_KEY = "{field}: {key!r} is not a valid environment variable name (letters, digits, _)"
MSG_ENV_SIZE = "{field}: at most {limit} variables are allowed, got {count}"
MSG_STAGE_NAME = "api.stageName: {value!r} may use only letters, digits, '-' and '_' (1-128)"
MSG_INSTANCE_TYPE = "{field}: {value!r} is not a SageMaker hosting instance type (e.g. ml.m5.large)"
MSG_MIN_OVER_MAX = "endpoint.autoscaling: minCapacity {low} exceeds maxCapacity {high}; raise maxCapacity"
MSG_BURST = "api.throttle.burstLimit: {burst} is below rateLimit {rate}; a burst must cover one second of rate"
MSG_API_KEY = "{field}: an API key is 20 to 128 printable characters without spaces"
MSG_QUOTA_NEEDS_KEY = "api.quota: quotas are enforced per API key; set api.auth to api_key or remove api.quota"
MSG_UNKNOWN_SECTION = "{key}: unknown setting{hint}; the project's settings are {known}"
MSG_FAULT_VERSION = "{field}: not a configured model version; faults can be set for {names}"
MSG_RETENTION = "{key}: {value} is not a CloudWatch retention; use one of {allowed}"

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)


class QuotaPeriod(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


class LogLevel(StrEnum):
    OFF = "OFF"
    ERROR = "ERROR"
    INFO = "INFO"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    image: str
    model_data: str
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Autoscaling:
    min_capacity: int
    max_capacity: int
    invocations_per_instance: float


@dataclass(frozen=True)
class Alarms:
    """Thresholds of the per-variant alarms; they notify ``notifications`` when it is configured."""

    errors_5xx: int = 5
    latency_p99_ms: int = 500
    evaluation_minutes: int = 3


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    default_variant: str
    autoscaling: Autoscaling | None = None
    alarms: Alarms = Alarms()
    log_retention_days: int = 30  # the containers' log group


@dataclass(frozen=True)
class Throttle:
    rate_limit: float = 100.0
    burst_limit: int = 200


@dataclass(frozen=True)
class Quota:
    limit: int
    period: QuotaPeriod


@dataclass(frozen=True)
class Logging:
    """Stage logging. ``manage_account_role``: this stack owns API Gateway's CloudWatch role, one
    setting per account and region shared by every API there; off by default so two stacks never
    take turns overwriting it (turn it on in exactly one stack per account and region)."""

    access_log_retention_days: int = 30
    execution_level: LogLevel = LogLevel.ERROR
    manage_account_role: bool = False
    execution_log_retention_days: int = 30


@dataclass(frozen=True)
class ApiSettings:
    stage_name: str
    auth: AuthMode = AuthMode.IAM
    throttle: Throttle = Throttle()
    quota: Quota | None = None
    max_items: int = 100
    logging: Logging = Logging()
    waf: Waf | None = None  # None: no web ACL on the stage
    cognito: Cognito | None = None  # with auth cognito
    domain: Domain | None = None  # None: the stage's own execute-api URL
    cache: Cache | None = None  # None: no stage cache


@dataclass(frozen=True)
class Fault:
    """What the local runtime does wrong on purpose for one version, to rehearse a bad rollout."""

    error_rate: float = 0.0  # share of invocations answered as a model 500
    added_latency_ms: float = 0.0  # added before each invocation
    hang: bool = False  # no answer at all: the gateway times out, as with a stopped model server


@dataclass(frozen=True)
class LocalSettings:
    """How the local runtime runs this stack (ignored by `pulumi up`)."""

    artifacts: str = "artifacts"  # trained versions live in <artifacts>/<version>/
    gateway_port: int = 8000
    runtime_port: int = 8001
    model_port_base: int = 8101  # version n (in list order) listens on base + n
    canary_seed: int | None = None  # seeds the per-request canary draw (tests, rehearsals)
    faults: Mapping[str, Fault] = field(default_factory=dict)  # by version; applied without a restart
    api_key: str | None = None  # with api.auth api_key: the key the local API accepts (None: one is made)


@dataclass(frozen=True)
class StackConfig:
    region: str
    models: tuple[ModelVersion, ...]
    routing: Routing
    api: ApiSettings
    endpoint: EndpointSettings
    local: LocalSettings = LocalSettings()
    notifications: Notifications | None = None  # None: the alarms notify no one

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(model.name for model in self.models)

    def model(self, name: str) -> ModelVersion:
        return next(model for model in self.models if model.name == name)


def parse(values: Mapping[str, Any]) -> StackConfig:
    """Parse the ``config:`` mapping of a stack file; raise ConfigError listing every problem."""
    problems: list[str] = []
    region = values.get(REGION_KEY)
    if not isinstance(region, str) or not region:
        problems.append(MSG_NO_REGION)
    root = Section({key: values.get(f"{PROJECT}:{key}") for key in SECTIONS}, "", problems)
    models = _models(values.get(f"{PROJECT}:models"), problems)
    _check_sections(values, problems)
    routing = parse_routing(root.section("routing") or Section({}, "routing", problems))
    api = _api(root.section("api") or Section({}, "api", problems))
    if isinstance(region, str) and api.domain is not None:
        problems += edge.domain_region_problems(api.domain, region)
    endpoint = _endpoint(root.section("endpoint") or Section({}, "endpoint", problems), models)
    local = _local(root.section("local"), [model.name for model in models])
    notifications = (Notifications(sealed=True) if secret_of(values.get(f"{PROJECT}:notifications"))
                     else parse_notifications(root.section("notifications")))
    if not problems:
        check_cross_field([model.name for model in models], routing, endpoint.name, endpoint.default_variant,
                          problems)
    if problems:
        raise ConfigError(problems)
    return StackConfig(region=settled(region), models=tuple(models), routing=routing, api=api, endpoint=endpoint,
                       local=local, notifications=notifications)


def with_routing(values: Mapping[str, Any], routing: Routing) -> dict[str, Any]:
    """A copy of a stack's ``config:`` values with ``routing`` written back."""
    changed = copy.deepcopy(dict(values))
    changed[ROUTING_KEY] = routing_values(routing, values.get(ROUTING_KEY))
    return changed


def without_model(values: Mapping[str, Any], name: str, default_variant: str | None = None) -> dict[str, Any]:
    """A copy of the stack values with model version ``name`` removed (and, when given, the endpoint's
    default variant moved to ``default_variant``)."""
    changed = copy.deepcopy(dict(values))
    changed[MODELS_KEY] = [m for m in changed.get(MODELS_KEY) or [] if not (isinstance(m, Mapping)
                                                                          and m.get("name") == name)]
    if default_variant is not None:
        changed[ENDPOINT_KEY] = {**(changed.get(ENDPOINT_KEY) or {}), "defaultVariant": default_variant}
    return changed


def _check_sections(values: Mapping[str, Any], problems: list[str]) -> None:
    """A misspelled ``ratings:`` key would otherwise be silently ignored (and its setting lost)."""
    known = [f"{PROJECT}:{key}" for key in SECTIONS]
    for key in values:
        if isinstance(key, str) and key.startswith(f"{PROJECT}:") and key not in known:
            name = key.split(":", 1)[1]
            close = ([f"{ROUTING_KEY}.{name}"] if name in ROUTING_SETTINGS
                     else difflib.get_close_matches(key, known, n=1, cutoff=0.8))
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(MSG_UNKNOWN_SECTION.format(key=key, hint=hint, known=", ".join(known)))


def _models(raw: Any, problems: list[str]) -> list[ModelVersion]:
    if raw is None or raw == []:
        problems.append(MSG_NO_MODELS)
        return []
    if not isinstance(raw, list):
        problems.append(MSG_MODELS_NOT_LIST.format(got=describe(raw)))
        return []
    return [model for index, item in enumerate(raw) if (model := _model(Section(item, f"models[{index}]", problems)))]


def _model(section: Section) -> ModelVersion | None:
    section.check_known(("name", "image", "modelData", "instanceType", "instanceCount", "environment"))
    before = len(section.problems)
    name = section.text("name")
    check_name(section, "name", name, aws_limits.rule("VariantName"))
    image = section.text("image")
    check_image(section, image)
    model_data = section.text("modelData")
    check_model_data(section, model_data)
    instance_type = section.text("instanceType", "ml.m5.large")
    if instance_type and instance_type not in aws_limits.instance_types():
        section.problem(MSG_INSTANCE_TYPE.format(field=section.field("instanceType"), value=instance_type))
    count = section.integer("instanceCount", 1, 1, 100)
    environment = _environment(section)
    if len(section.problems) > before:
        return None
    return ModelVersion(settled(name), settled(image), settled(model_data), settled(instance_type), settled(count),
                        environment)


def _environment(section: Section) -> dict[str, str]:
    env = section.section("environment")
    if env is None:
        return {}
    rule = aws_limits.rule("EnvironmentKey")
    variables: dict[str, str] = {}
    for key, value in env.raw.items():
        if not isinstance(key, str) or not rule.accepts(key):
            env.problem(MSG_ENV_KEY.format(field=env.path, key=key))
        text = secret_of(value) or value  # a secret value (an API token, say) stays opaque
        if not isinstance(text, str):
            env.problem(MSG_ENV_VALUE.format(field=env.field(str(key)), got=describe(value)))
        else:
            variables[str(key)] = text
    limit = aws_limits.max_environment_entries()
    if len(env.raw) > limit:
        env.problem(MSG_ENV_SIZE.format(field=env.path, limit=limit, count=len(env.raw)))
    return variables


def _api(section: Section) -> ApiSettings:
    section.check_known(("stageName", "auth", "throttle", "quota", "maxItems", "logging", "waf", "cognito",
                         "domain", "cache"))
    stage = section.text("stageName")
    if stage is not None and not _valid_stage_name(stage):
        section.problem(MSG_STAGE_NAME.format(value=stage))
    auth = section.choice("auth", AuthMode, AuthMode.IAM)
    quota = _quota(section.section("quota"))
    if quota is not None and auth not in (AuthMode.API_KEY, None):
        section.problem(MSG_QUOTA_NEEDS_KEY)
    return ApiSettings(
        stage_name=settled(stage),
        auth=settled(auth),
        throttle=_throttle(section.section("throttle")),
        quota=quota,
        max_items=settled(section.integer("maxItems", 100, 1, 1000)),
        logging=_logging(section.section("logging")),
        waf=edge.parse_waf(section.section("waf")),
        cognito=edge.parse_cognito(section, auth),
        domain=edge.parse_domain(section.section("domain")),
        cache=edge.parse_cache(section.section("cache")),
    )


def _valid_stage_name(stage: str) -> bool:
    return 0 < len(stage) <= 128 and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in stage)


def _throttle(section: Section | None) -> Throttle:
    if section is None:
        return Throttle()
    section.check_known(("rateLimit", "burstLimit"))
    rate = section.number("rateLimit", Throttle.rate_limit, 1.0, 1_000_000.0)
    burst = section.integer("burstLimit", Throttle.burst_limit, 1, 1_000_000)
    if rate is not None and burst is not None and burst < rate:
        section.problem(MSG_BURST.format(burst=burst, rate=rate))
    return Throttle(settled(rate), settled(burst))


def _quota(section: Section | None) -> Quota | None:
    if section is None:
        return None
    section.check_known(("limit", "period"))
    limit = section.integer("limit", REQUIRED, 1, 2**31 - 1)
    return Quota(settled(limit), settled(section.choice("period", QuotaPeriod)))


def _logging(section: Section | None) -> Logging:
    if section is None:
        return Logging()
    section.check_known(("accessLogRetentionDays", "executionLevel", "manageAccountRole",
                         "executionLogRetentionDays"))
    days = _retention(section, "accessLogRetentionDays", Logging.access_log_retention_days)
    level = section.choice("executionLevel", LogLevel, Logging.execution_level)
    execution_days = _retention(section, "executionLogRetentionDays", Logging.execution_log_retention_days)
    return Logging(settled(days), settled(level), section.flag("manageAccountRole", Logging.manage_account_role),
                   settled(execution_days))


def _retention(section: Section, key: str, default: int) -> int | None:
    """Days a log group keeps its events: one of the values PutRetentionPolicy accepts."""
    days = section.integer(key, default, 1, 3653)
    if days is not None and days not in LOG_RETENTION_DAYS:
        section.problem(MSG_RETENTION.format(key=section.field(key), value=days,
                                             allowed=", ".join(map(str, LOG_RETENTION_DAYS))))
    return days


def _endpoint(section: Section, models: list[ModelVersion]) -> EndpointSettings:
    section.check_known(("name", "defaultVariant", "autoscaling", "alarms", "logRetentionDays"))
    name = section.text("name")
    check_name(section, "name", name, aws_limits.rule("EndpointName"))
    first = models[0].name if models else None
    default_variant = section.text("defaultVariant", first)
    days = _retention(section, "logRetentionDays", EndpointSettings.log_retention_days)
    return EndpointSettings(settled(name), settled(default_variant), _autoscaling(section.section("autoscaling")),
                            _alarms(section.section("alarms")), settled(days))


def _autoscaling(section: Section | None) -> Autoscaling | None:
    if section is None:
        return None
    section.check_known(("minCapacity", "maxCapacity", "invocationsPerInstance"))
    low = section.integer("minCapacity", 1, 1, 100)
    high = section.integer("maxCapacity", REQUIRED, 1, 100)
    target = section.number("invocationsPerInstance", REQUIRED, 1.0, 1_000_000.0)
    if low is not None and high is not None and low > high:
        section.problem(MSG_MIN_OVER_MAX.format(low=low, high=high))
    return Autoscaling(settled(low), settled(high), settled(target))


def _local(section: Section | None, versions: list[str]) -> LocalSettings:
    if section is None:
        return LocalSettings()
    section.check_known(("artifacts", "gatewayPort", "runtimePort", "modelPortBase", "canarySeed", "faults",
                         "apiKey"))
    return LocalSettings(
        artifacts=settled(section.text("artifacts", LocalSettings.artifacts)),
        gateway_port=settled(section.integer("gatewayPort", LocalSettings.gateway_port, 1024, 65535)),
        runtime_port=settled(section.integer("runtimePort", LocalSettings.runtime_port, 1024, 65535)),
        model_port_base=settled(section.integer("modelPortBase", LocalSettings.model_port_base, 1024, 65000)),
        canary_seed=section.integer("canarySeed", None, 0, 2**31 - 1),
        faults=_faults(section.section("faults"), versions),
        api_key=_api_key(section),
    )


def _api_key(section: Section) -> str | None:
    """API Gateway's rule for an API key's value: 20 to 128 characters (CreateApiKey), here printable
    and without spaces, since it travels in the x-api-key header."""
    value = section.text("apiKey", None)
    if value is not None and not re.fullmatch(r"[!-~]{20,128}", value):
        section.problem(MSG_API_KEY.format(field=section.field("apiKey")))
        return None
    return value


def _faults(section: Section | None, versions: list[str]) -> dict[str, Fault]:
    if section is None:
        return {}
    faults = {}
    for version in section.raw:
        if version not in versions:
            section.problem(MSG_FAULT_VERSION.format(field=section.field(str(version)), names=", ".join(versions)))
            continue
        entry = section.section(str(version))
        if entry is None:
            continue
        entry.check_known(("errorRate", "addedLatencyMs", "hang"))
        faults[str(version)] = Fault(settled(entry.number("errorRate", 0.0, 0.0, 1.0)),
                                     settled(entry.number("addedLatencyMs", 0.0, 0.0, 600_000.0)),
                                     entry.flag("hang", False))
    return faults


def _alarms(section: Section | None) -> Alarms:
    if section is None:
        return Alarms()
    section.check_known(("errors5xx", "latencyP99Ms", "evaluationMinutes"))
    return Alarms(
        errors_5xx=settled(section.integer("errors5xx", Alarms.errors_5xx, 1, 1_000_000)),
        latency_p99_ms=settled(section.integer("latencyP99Ms", Alarms.latency_p99_ms, 1, 60_000)),
        evaluation_minutes=settled(section.integer("evaluationMinutes", Alarms.evaluation_minutes, 1, 60)),
    )
