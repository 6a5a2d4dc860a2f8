"""The stack config model: example stacks parse; each mistake gets its own message."""

from __future__ import annotations

import pytest

from core import config as cfg
from core import config_edge as edge
from core import config_routing, fields
from core import config_rules as rules
from core import notifications as notes
from core import routing as routes
from core import thresholds as limits
from core.fields import ConfigError
from tests.stacks import DELETE, example, with_change


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stacks_are_valid(stack):
    config = cfg.parse(example(stack))
    assert config.routing.live in config.model_names


def test_prod_example_reads_into_typed_values():
    config = cfg.parse(example("prod"))
    assert config.region == "eu-west-1"
    assert config.routing.canary == routes.Canary("v2", 10.0, routes.CanaryMode.REQUEST)
    assert config.api.auth is edge.AuthMode.API_KEY
    assert config.api.quota == cfg.Quota(5_000_000, cfg.QuotaPeriod.MONTH)
    assert config.endpoint.autoscaling == cfg.Autoscaling(1, 4, 3000.0)
    assert config.model("v2").environment["SAGEMAKER_PROGRAM"] == "inference.py"


def test_defaults_fill_optional_settings():
    values = example("dev")
    values["ratings:api"] = {"stageName": "dev"}
    values["ratings:endpoint"] = {"name": "ratings-dev"}
    config = cfg.parse(values)
    assert config.api.auth is edge.AuthMode.IAM, "IAM auth is the safe default"
    assert config.api.throttle == cfg.Throttle()
    assert config.api.logging == cfg.Logging()
    assert config.endpoint.alarms == cfg.Alarms()
    assert config.endpoint.default_variant == "v1"


KNOWN_SECTIONS = ", ".join(f"ratings:{section}" for section in cfg.SECTIONS)
VARIANT_RULE = "pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}, at most 63 characters"

POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
DOMAIN = {"name": "ratings.example.com", "certificateArn": CERTIFICATE, "hostedZoneId": "Z0123456789ABCDEFGHIJ"}
INVALID = [
    # (change to the prod example, exact message or messages)
    ("ratings:routing.canary.version", "v9",
     rules.MSG_NOT_A_MODEL.format(field="routing.canary.version", value="v9", names="v1, v2")),
    ("ratings:routing.live", "v7",
     rules.MSG_NOT_A_MODEL.format(field="routing.live", value="v7", names="v1, v2")),
    ("ratings:routing.canary.version", "v1", rules.MSG_CANARY_IS_LIVE.format(value="v1")),
    ("ratings:routing.canary.percent", 0, routes.MSG_PERCENT.format(field="routing.canary.percent", value=0)),
    ("ratings:routing.canary.percent", 150,
     routes.MSG_PERCENT.format(field="routing.canary.percent", value=150)),
    ("ratings:routing.analysis.minRequests", 0,
     fields.MSG_OUT_OF_RANGE.format(field="routing.analysis.minRequests", value=0, low=1, high=1_000_000_000)),
    ("ratings:routing.analysis.minErrorRate", 5,
     fields.MSG_OUT_OF_RANGE.format(field="routing.analysis.minErrorRate", value=5.0, low=0.0, high=1.0)),
    ("ratings:routing.analysis.window", "5m",
     fields.MSG_UNKNOWN_KEY.format(field="routing.analysis.window",
                                   known="minRequests, maxErrorRatio, minErrorRate, minTrafficShare, alpha, "
                                         "maxSlowRatio, maxLatencyRatio, latencyFloorMs, quality")),
    ("ratings:canary", {"version": "v2"},
     cfg.MSG_UNKNOWN_SECTION.format(key="ratings:canary", hint=" (did you mean ratings:routing.canary?)",
                                    known=KNOWN_SECTIONS)),
    ("ratings:modles", [], cfg.MSG_UNKNOWN_SECTION.format(key="ratings:modles", hint=" (did you mean ratings:models?)",
                                                          known=KNOWN_SECTIONS)),
    ("ratings:extra", 1, cfg.MSG_UNKNOWN_SECTION.format(key="ratings:extra", hint="", known=KNOWN_SECTIONS)),
    ("ratings:routing.canary.percent", "ten",
     fields.MSG_NOT_NUMBER.format(field="routing.canary.percent", got="str 'ten'")),
    ("ratings:routing.canary.mode", "random",
     fields.MSG_NOT_CHOICE.format(field="routing.canary.mode", value="random", choices="request, sticky")),
    ("ratings:models.1.name", "v1", (rules.MSG_DUPLICATE.format(index=1, name="v1"),
                                     rules.MSG_NOT_A_MODEL.format(field="routing.canary.version", value="v2",
                                                                  names="v1"))),
    ("ratings:models.0.name", "v_1",
     rules.MSG_NAME.format(field="models[0].name", value="v_1", rule=VARIANT_RULE)),
    ("ratings:models.0.image", "not an image",
     rules.MSG_IMAGE.format(field="models[0].image", value="not an image")),
    ("ratings:models.0.modelData", "s3://bucket/model.zip",
     rules.MSG_MODEL_DATA.format(field="models[0].modelData", value="s3://bucket/model.zip", limit=1024)),
    ("ratings:models.0.instanceType", "m5.large",
     cfg.MSG_INSTANCE_TYPE.format(field="models[0].instanceType", value="m5.large")),
    ("ratings:models.0.instanceCount", 0,
     fields.MSG_OUT_OF_RANGE.format(field="models[0].instanceCount", value=0, low=1, high=100)),
    ("ratings:models.1.environment", {"PORT": 8080},
     cfg.MSG_ENV_VALUE.format(field="models[1].environment.PORT", got="int 8080")),
    ("ratings:models.0.tag", "x",
     fields.MSG_UNKNOWN_KEY.format(field="models[0].tag", known="name, image, modelData, instanceType, "
                                   "instanceCount, environment")),
    ("ratings:models", {"v1": {}}, cfg.MSG_MODELS_NOT_LIST.format(got="dict {'v1': {}}")),
    ("ratings:models", [], cfg.MSG_NO_MODELS),
    ("ratings:endpoint.name", "ratings_prod",
     rules.MSG_NAME.format(field="endpoint.name", value="ratings_prod", rule=VARIANT_RULE)),
    ("ratings:endpoint.name", "r" * 53,
     tuple(rules.MSG_MODEL_NAME_LENGTH.format(index=i, endpoint="r" * 53, name=f"v{i + 1}", suffix=8, limit=63)
           for i in range(2))
     + tuple(rules.MSG_DERIVED_NAME_LENGTH.format(kind=kind, logical="r" * 53 + tail, suffix=8, limit=limit,
                                                  longest=longest)
             for kind, tail, limit, longest in [("endpoint configuration", "-config", 63, 48),
                                                ("IAM role", "-execution-role", 64, 41),
                                                ("IAM role", "-api-invoke-role", 64, 40),
                                                ("IAM role", "-api-cloudwatch-role", 64, 36)])),
    # IAM role names: at most 64 characters (botocore iam roleNameType); "-api-cloudwatch-role" + 8 is the longest
    ("ratings:endpoint.name", "r" * 37,
     rules.MSG_DERIVED_NAME_LENGTH.format(kind="IAM role", logical="r" * 37 + "-api-cloudwatch-role", suffix=8,
                                          limit=64, longest=36)),
    ("ratings:endpoint.defaultVariant", "v3",
     rules.MSG_NOT_A_MODEL.format(field="endpoint.defaultVariant", value="v3", names="v1, v2")),
    ("ratings:endpoint.autoscaling.minCapacity", 5, cfg.MSG_MIN_OVER_MAX.format(low=5, high=4)),
    ("ratings:endpoint.autoscaling.maxCapacity", DELETE,
     fields.MSG_MISSING.format(field="endpoint.autoscaling.maxCapacity")),
    ("ratings:api.stageName", "prod/v1", cfg.MSG_STAGE_NAME.format(value="prod/v1")),
    ("ratings:api.stageName", DELETE, fields.MSG_MISSING.format(field="api.stageName")),
    ("ratings:api.auth", "oauth",
     fields.MSG_NOT_CHOICE.format(field="api.auth", value="oauth", choices="iam, api_key, cognito, none")),
    ("ratings:api.auth", "iam", cfg.MSG_QUOTA_NEEDS_KEY),
    ("ratings:api.maxItems", 5000, fields.MSG_OUT_OF_RANGE.format(field="api.maxItems", value=5000,
                                                                 low=1, high=1000)),
    ("ratings:api.maxItems", True, fields.MSG_NOT_INTEGER.format(field="api.maxItems", got="bool True")),
    ("ratings:api.throttle.burstLimit", 10, cfg.MSG_BURST.format(burst=10, rate=500.0)),
    ("ratings:api.quota.period", "YEAR",
     fields.MSG_NOT_CHOICE.format(field="api.quota.period", value="YEAR", choices="DAY, WEEK, MONTH")),
    *[(f"ratings:{key}", 10, cfg.MSG_RETENTION.format(key=key, value=10,
                                                     allowed=", ".join(map(str, cfg.LOG_RETENTION_DAYS))))
      for key in ("api.logging.accessLogRetentionDays", "api.logging.executionLogRetentionDays",
                  "endpoint.logRetentionDays")],
    ("ratings:api.logging.manageAccountRole", "yes",
     fields.MSG_NOT_FLAG.format(field="api.logging.manageAccountRole", got="str 'yes'")),
    ("ratings:api", "prod", fields.MSG_NOT_MAPPING.format(field="api", got="str 'prod'")),
    # AWS WAF's lowest rate limit is 10 ("Rate-based rule high-level settings")
    ("ratings:api.waf.rateLimitPer5Min", 5, fields.MSG_OUT_OF_RANGE.format(field="api.waf.rateLimitPer5Min", value=5,
                                                                          low=10, high=2_000_000_000)),
    ("ratings:api.auth", "cognito", (cfg.MSG_QUOTA_NEEDS_KEY, edge.MSG_COGNITO_NEEDS_POOL)),
    ("ratings:api.cognito", {"userPoolArn": POOL}, edge.MSG_COGNITO_WITHOUT_AUTH),
    ("ratings:api.domain", {**DOMAIN, "name": "Ratings.Example.com"},
     edge.MSG_DOMAIN_NAME.format(value="Ratings.Example.com")),
    ("ratings:api.domain", {**DOMAIN, "name": "localhost"}, edge.MSG_DOMAIN_NAME.format(value="localhost")),
    ("ratings:api.domain", {**DOMAIN, "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"},
     edge.MSG_CERTIFICATE_ARN.format(value="arn:aws:acm:eu-west-1:123456789012:certificate/x")),
    # a regional domain's certificate is in the API's region
    ("ratings:api.domain", {**DOMAIN, "certificateArn": CERTIFICATE.replace("eu-west-1", "us-east-1")},
     edge.MSG_CERTIFICATE_REGION.format(cert="us-east-1", region="eu-west-1")),
    ("ratings:api.domain", {**DOMAIN, "hostedZoneId": "example.com"},
     edge.MSG_HOSTED_ZONE.format(value="example.com")),
    ("ratings:api.domain", {"name": "ratings.example.com"},
     fields.MSG_MISSING.format(field="api.domain.certificateArn")),
    ("ratings:api.cache", {"sizeGb": 2}, edge.MSG_CACHE_SIZE.format(value=2.0, sizes=", ".join(edge.CACHE_SIZES_GB))),
    ("ratings:api.cache", {"ttlSeconds": 7200},
     fields.MSG_OUT_OF_RANGE.format(field="api.cache.ttlSeconds", value=7200, low=0, high=3600)),
    ("ratings:api.waf.enabled", "yes", fields.MSG_NOT_FLAG.format(field="api.waf.enabled", got="str 'yes'")),
    ("ratings:api.waf.managedRules", ["x"], fields.MSG_UNKNOWN_KEY.format(field="api.waf.managedRules",
                                                                          known="enabled, rateLimitPer5Min")),
    ("aws:region", DELETE, cfg.MSG_NO_REGION),
    ("ratings:notifications.emails", [], notes.MSG_NOTHING_TO_NOTIFY),
    ("ratings:notifications.emails", "ml-oncall@example.com",
     notes.MSG_EMAILS_NOT_LIST.format(got="str 'ml-oncall@example.com'")),
    ("ratings:notifications.emails", ["ml-oncall@example.com", "oncall"],
     notes.MSG_EMAIL.format(index=1, value="oncall")),
    ("ratings:notifications.emails", ["a@example.com", 7], notes.MSG_EMAIL.format(index=1, value=7)),
    ("ratings:notifications.emails", ["a@example.com", "b@example.com", "a@example.com"],
     notes.MSG_EMAIL_TWICE.format(index=2, value="a@example.com")),
    ("ratings:notifications.webhook", "http://hooks.example.com/alarms",
     notes.MSG_WEBHOOK.format(value="http://hooks.example.com/alarms")),
    ("ratings:notifications.webhook", "https://", notes.MSG_WEBHOOK.format(value="https://")),
    ("ratings:notifications.webhook", 443, fields.MSG_NOT_TEXT.format(field="notifications.webhook", got="int 443")),
    ("ratings:notifications.slack", "#ml", fields.MSG_UNKNOWN_KEY.format(field="notifications.slack",
                                                                        known="emails, webhook")),
    ("ratings:notifications", ["a@example.com"],
     fields.MSG_NOT_MAPPING.format(field="notifications", got="list ['a@example.com']")),
]


@pytest.mark.parametrize(("change", "value", "message"), INVALID, ids=[f"{c}={v!r}"[:60] for c, v, _ in INVALID])
def test_each_invalid_setting_gets_its_message(change, value, message):
    with pytest.raises(ConfigError) as raised:
        cfg.parse(with_change(example("prod"), change, value))
    expected = list(message) if isinstance(message, tuple) else [message]
    assert raised.value.problems == expected


def test_all_problems_are_reported_at_once():
    values = with_change(example("prod"), "ratings:api.auth", "oauth")
    values = with_change(values, "ratings:models.0.instanceCount", -1)
    values = with_change(values, "aws:region", DELETE)
    with pytest.raises(ConfigError) as raised:
        cfg.parse(values)
    assert len(raised.value.problems) == 3
    assert str(raised.value).startswith("invalid stack config (3 problem(s)):")


def test_the_longest_endpoint_name_whose_derived_names_fit_is_accepted():
    assert cfg.parse(with_change(example("prod"), "ratings:endpoint.name", "r" * 36)).endpoint.name == "r" * 36


@pytest.mark.parametrize(("versions", "problem"), [(10, None), (11, rules.MSG_TOO_MANY_VERSIONS.format(count=11,
                                                                                                    limit=10))])
def test_at_most_ten_versions_fit_one_endpoint(versions, problem):
    """botocore's sagemaker model: ProductionVariantList holds 1 to 10 variants, so an eleventh
    version would fail at CreateEndpointConfig, after its Model exists."""
    values = example("prod")
    model = values["ratings:models"][0]
    values["ratings:models"] = [{**model, "name": f"v{n}"} for n in range(1, versions + 1)]
    if problem is None:
        assert len(cfg.parse(values).models) == versions
    else:
        with pytest.raises(ConfigError) as raised:
            cfg.parse(values)
        assert raised.value.problems == [problem]


SECRET = {"secure": "v1:ZGVhZGJlZWY=:c2VjcmV0"}  # as `pulumi config set --secret --path` stores a value


@pytest.mark.parametrize("dotted", [
    "ratings:notifications.webhook", "ratings:notifications.emails.0", "ratings:models.0.environment.API_TOKEN",
    "ratings:notifications",
])
def test_secrets_are_accepted_where_only_pulumi_up_reads_them(dotted):
    values = with_change(example("prod"), "ratings:notifications", {"emails": ["a@example.com"], "webhook": SECRET})
    values = with_change(values, "ratings:models.0.environment", {"API_TOKEN": "plain"})
    config = cfg.parse(with_change(values, dotted, SECRET))
    assert "c2VjcmV0" not in repr(config), "a secret is never shown"
    if dotted == "ratings:notifications":
        assert config.notifications == notes.Notifications(sealed=True)
    if dotted.endswith("webhook"):
        assert isinstance(config.notifications.webhook, fields.Secret)


@pytest.mark.parametrize(("dotted", "field"), [
    ("ratings:routing.live", "routing.live"), ("ratings:endpoint.name", "endpoint.name"),
    ("ratings:models.0.name", "models[0].name"), ("ratings:routing", "routing"),
    ("ratings:api.throttle.rateLimit", "api.throttle.rateLimit"),
])
def test_a_secret_that_canary_or_the_local_api_must_read_is_one_clear_problem(dotted, field):
    with pytest.raises(ConfigError) as raised:
        cfg.parse(with_change(example("prod"), dotted, SECRET))
    assert fields.MSG_SECRET_HERE.format(field=field) in raised.value.problems


def test_ecr_image_uris_are_accepted():
    uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ratings/factorization:2024-01-01"
    config = cfg.parse(with_change(example("prod"), "ratings:models.1.image", uri))
    assert config.model("v2").image == uri


@pytest.mark.parametrize("notifications, subscriptions", [
    ({"emails": ["a@example.com", "b@example.com"]}, [("email", "a@example.com"), ("email", "b@example.com")]),
    ({"webhook": "https://hooks.example.com/alarms?token=x"}, [("https", "https://hooks.example.com/alarms?token=x")]),
    ({"emails": ["a@example.com"], "webhook": "https://hooks.example.com/a"},
     [("email", "a@example.com"), ("https", "https://hooks.example.com/a")]),
])
def test_notifications_become_one_subscription_per_recipient(notifications, subscriptions):
    config = cfg.parse(with_change(example("prod"), "ratings:notifications", notifications))
    assert [(s.protocol, s.endpoint) for s in config.notifications.subscriptions] == subscriptions
    keys = [s.key for s in config.notifications.subscriptions]
    assert len(set(keys)) == len(keys), "each subscription needs its own logical name"


def test_a_subscription_keeps_its_key_when_the_list_is_reordered():
    first = cfg.parse(with_change(example("prod"), "ratings:notifications.emails", ["a@example.com", "b@example.com"]))
    second = cfg.parse(with_change(example("prod"), "ratings:notifications.emails", ["b@example.com", "a@example.com"]))
    assert {s.endpoint: s.key for s in first.notifications.subscriptions} == \
        {s.endpoint: s.key for s in second.notifications.subscriptions}


def test_notifications_are_optional():
    assert cfg.parse(example("dev")).notifications is None
    assert cfg.parse(example("prod")).notifications == notes.Notifications(("ml-oncall@example.com",))
def test_routing_thresholds_are_read_from_the_stack():
    values = with_change(example("prod"), "ratings:routing.analysis", {"minRequests": 40, "maxErrorRatio": 2})
    assert cfg.parse(values).routing.analysis == limits.AnalysisThresholds(min_requests=40, max_error_ratio=2.0)
    assert cfg.parse(example("prod")).routing.analysis == limits.AnalysisThresholds()


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_routing_is_written_back_as_it_reads(stack):
    values = example(stack)
    parsed = cfg.parse(values).routing
    assert config_routing.routing_values(parsed, values["ratings:routing"]) == values["ratings:routing"]
    assert cfg.parse(cfg.with_routing(values, parsed)) == cfg.parse(values)


@pytest.mark.parametrize(("written", "routing", "expected"), [
    # keys routing does not own (analysis) stay, in place; a canary written without mode stays without
    ({"live": "v1", "analysis": {"minRequests": 5}, "canary": {"percent": 5, "version": "v2"}},
     routes.Routing("v1", routes.Canary("v2", 20.0)),
     [("live", "v1"), ("analysis", {"minRequests": 5}), ("canary", {"percent": 20, "version": "v2"})]),
    ({"live": "v1"}, routes.Routing("v1", routes.Canary("v2", 7.5, routes.CanaryMode.STICKY)),
     [("live", "v1"), ("canary", {"version": "v2", "percent": 7.5, "mode": "sticky"})]),
    ({"live": "v1", "canary": {"version": "v2", "percent": 5}}, routes.Routing("v2", previous="v1"),
     [("live", "v2"), ("previous", "v1")]),
])
def test_routing_write_back_keeps_order_and_number_types(written, routing, expected):
    result = config_routing.routing_values(routing, written)
    assert list(result.items()) == expected
    assert [type(v) for _, v in result.items()] == [type(v) for _, v in expected]


def test_local_faults_name_configured_versions_and_sane_values():
    values = example("local")
    values["ratings:local"] = {**values["ratings:local"],
                               "faults": {"v2": {"errorRate": 0.005, "addedLatencyMs": 40, "hang": False}}}
    assert cfg.parse(values).local.faults == {"v2": cfg.Fault(0.005, 40.0, False)}
    values["ratings:local"]["faults"] = {"v9": {"hang": True}, "v1": {"errorRate": 2, "hang": "yes", "slow": 1}}
    with pytest.raises(ConfigError) as raised:
        cfg.parse(values)
    assert raised.value.problems == [
        cfg.MSG_FAULT_VERSION.format(field="local.faults.v9", names="v1, v2"),
        fields.MSG_UNKNOWN_KEY.format(field="local.faults.v1.slow", known="errorRate, addedLatencyMs, hang"),
        fields.MSG_OUT_OF_RANGE.format(field="local.faults.v1.errorRate", value=2.0, low=0.0, high=1.0),
        fields.MSG_NOT_FLAG.format(field="local.faults.v1.hang", got="str 'yes'"),
    ]


@pytest.mark.parametrize(("key", "accepted"), [
    ("a" * 20, True), ("local-key-with-40-characters-0123456789ab", True),
    ("short", False), ("has a space in it, twenty+", False), ("x" * 129, False),
])
def test_the_local_api_key_follows_api_gateways_rule(key, accepted):
    values = with_change(example("local"), "ratings:local.apiKey", key)
    if accepted:
        assert cfg.parse(values).local.api_key == key
    else:
        with pytest.raises(ConfigError) as raised:
            cfg.parse(values)
        assert raised.value.problems == [cfg.MSG_API_KEY.format(field="local.apiKey")]


def test_a_waf_section_is_on_unless_disabled_and_defaults_its_rate_limit():
    assert cfg.parse(example("prod")).api.waf == edge.Waf(rate_limit_per_5min=2000)
    assert cfg.parse(with_change(example("prod"), "ratings:api.waf", {})).api.waf == edge.Waf()
    assert cfg.parse(with_change(example("prod"), "ratings:api.waf.enabled", False)).api.waf is None
    assert cfg.parse(example("dev")).api.waf is None



@pytest.mark.parametrize("arn", [
    "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/us-east-1_AbCdEf123",  # another region's pool id
    "arn:aws:cognito-idp:eu-west-1:1234:userpool/eu-west-1_AbCdEf123",
    "eu-west-1_AbCdEf123",
])
def test_a_user_pool_is_named_by_its_arn(arn):
    values = with_change(example("prod"), "ratings:api.auth", "cognito")
    values = with_change(values, "ratings:api.quota", DELETE)
    with pytest.raises(ConfigError) as raised:
        cfg.parse(with_change(values, "ratings:api.cognito", {"userPoolArn": arn}))
    assert raised.value.problems == [edge.MSG_USER_POOL_ARN.format(value=arn)]


def test_cognito_auth_names_the_pools_token_issuer():
    values = with_change(with_change(example("prod"), "ratings:api.auth", "cognito"), "ratings:api.quota", DELETE)
    api = cfg.parse(with_change(values, "ratings:api.cognito", {"userPoolArn": POOL})).api
    assert api.auth is edge.AuthMode.COGNITO
    assert api.cognito.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"



def test_a_custom_domain_is_served_at_its_root():
    domain = cfg.parse(with_change(example("prod"), "ratings:api.domain", DOMAIN)).api.domain
    assert domain == edge.Domain("ratings.example.com", CERTIFICATE, "Z0123456789ABCDEFGHIJ")
    assert domain.url == "https://ratings.example.com/"
    without_zone = {key: value for key, value in DOMAIN.items() if key != "hostedZoneId"}
    assert cfg.parse(with_change(example("prod"), "ratings:api.domain", without_zone)).api.domain.hosted_zone_id is None



def test_a_stage_cache_defaults_to_the_smallest_cluster_and_five_minutes():
    assert cfg.parse(with_change(example("prod"), "ratings:api.cache", {})).api.cache == edge.Cache("0.5", 300)
    cache = cfg.parse(with_change(example("prod"), "ratings:api.cache", {"sizeGb": 6.1, "ttlSeconds": 60})).api.cache
    assert cache == edge.Cache("6.1", 60)
