"""The API's optional edge, ``ratings:api`` sections each validated on its own: a web ACL
(``waf``), a Cognito user pool authorizer (``auth: cognito`` with ``cognito``), a custom domain
(``domain``) and the stage cache (``cache``). Plain values; the stack (components.ratings_api) and
the local stage (emulator) read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.fields import Section, settled


class AuthMode(StrEnum):
    IAM = "iam"
    API_KEY = "api_key"
    COGNITO = "cognito"  # a Cognito user pool's signed-in users (api.cognito.userPoolArn)
    NONE = "none"


# arn:<partition>:cognito-idp:<region>:<account>:userpool/<pool id>, a pool id starting with its region
USER_POOL_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:cognito-idp:([a-z0-9-]+):\d{12}:userpool/\2_[0-9A-Za-z]+")
MSG_COGNITO_NEEDS_POOL = ("api.cognito.userPoolArn: auth cognito needs the user pool whose signed-in users may call, "
                          "e.g. arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEf123")
MSG_COGNITO_WITHOUT_AUTH = "api.cognito: set api.auth to cognito, or remove api.cognito"
MSG_USER_POOL_ARN = ("api.cognito.userPoolArn: {value!r} is not a user pool ARN "
                     "(arn:<partition>:cognito-idp:<region>:<account>:userpool/<region>_<id>)")
# a regional custom domain: lower-case DNS labels, at least two (API Gateway, "Custom domain names")
DOMAIN_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
CERTIFICATE_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}")
HOSTED_ZONE_ID = re.compile(r"Z[0-9A-Z]{1,31}")
MSG_DOMAIN_NAME = "api.domain.name: {value!r} is not a domain name (lower-case labels, e.g. ratings.example.com)"
MSG_CERTIFICATE_ARN = ("api.domain.certificateArn: {value!r} is not an ACM certificate ARN "
                       "(arn:<partition>:acm:<region>:<account>:certificate/<id>)")
MSG_CERTIFICATE_REGION = ("api.domain.certificateArn: the certificate is in {cert}, the stack in {region}; a regional "
                          "custom domain needs an ACM certificate in the API's region")
# Stage.cacheClusterSize, in GB (API Gateway API reference, CacheClusterSize); TTL 0 to 3,600 s, 300
# by default (developer guide, "Cache settings for REST APIs in API Gateway")
CACHE_SIZES_GB = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
MSG_CACHE_SIZE = "api.cache.sizeGb: {value!r} is not a stage cache size; use one of {sizes}"
MSG_HOSTED_ZONE = "api.domain.hostedZoneId: {value!r} is not a Route 53 hosted zone id (e.g. Z0123456789ABCDEFGHIJ)"


@dataclass(frozen=True)
class Waf:
    """A regional AWS WAF web ACL on the stage: AWS's managed common and known-bad-inputs rule
    groups, and a rate-based rule that blocks a client IP past ``rate_limit_per_5min`` requests
    in five minutes (AWS WAF's default evaluation window; its lowest limit is 10)."""

    rate_limit_per_5min: int = 2000


@dataclass(frozen=True)
class Cognito:
    """The user pool whose ID tokens the stage's COGNITO_USER_POOLS authorizer accepts."""

    user_pool_arn: str

    @property
    def region(self) -> str:
        return self.user_pool_arn.split(":")[3]

    @property
    def user_pool_id(self) -> str:
        return self.user_pool_arn.rsplit("/", 1)[1]

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens (Cognito developer guide, "Verifying a JSON web token")."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"


@dataclass(frozen=True)
class Cache:
    """The stage cache: the live version's answers for a (user, items) pair kept ``ttl_seconds``
    (encrypted); the canary never uses it, and a promotion or rollback empties it."""

    size_gb: str = "0.5"
    ttl_seconds: int = 300


@dataclass(frozen=True)
class Domain:
    """A regional custom domain for the stage, mapped at its root (``https://<name>/predicted-ratings/...``),
    with an alias record in ``hosted_zone_id`` when one is given (else point the name at it yourself)."""

    name: str
    certificate_arn: str
    hosted_zone_id: str | None = None

    @property
    def url(self) -> str:
        return f"https://{self.name}/"


def parse_cognito(api: Section, auth: AuthMode | None) -> Cognito | None:
    """``cognito: {userPoolArn}``, required with ``auth: cognito`` and only then."""
    section = api.section("cognito")
    if section is None:
        if auth is AuthMode.COGNITO:
            api.problem(MSG_COGNITO_NEEDS_POOL)
        return None
    section.check_known(("userPoolArn",))
    arn = section.text("userPoolArn")
    if auth is not AuthMode.COGNITO and auth is not None:
        api.problem(MSG_COGNITO_WITHOUT_AUTH)
    if arn is not None and not USER_POOL_ARN.fullmatch(arn):
        section.problem(MSG_USER_POOL_ARN.format(value=arn))
        return None
    return Cognito(arn) if arn is not None else None


def parse_waf(section: Section | None) -> Waf | None:
    """``waf: {enabled, rateLimitPer5Min}``; a section that is there is on unless ``enabled: false``.
    The limit's range is AWS WAF's ("Rate-based rule high-level settings": lowest 10; the
    RateBasedStatement API's highest 2,000,000,000)."""
    if section is None:
        return None
    section.check_known(("enabled", "rateLimitPer5Min"))
    limit = section.integer("rateLimitPer5Min", Waf.rate_limit_per_5min, 10, 2_000_000_000)
    return Waf(settled(limit)) if section.flag("enabled", True) else None


def parse_domain(section: Section | None) -> Domain | None:
    """``domain: {name, certificateArn, hostedZoneId?}``."""
    if section is None:
        return None
    section.check_known(("name", "certificateArn", "hostedZoneId"))
    name = section.text("name")
    certificate = section.text("certificateArn")
    zone = section.text("hostedZoneId", None)
    checks = ((name, DOMAIN_NAME, MSG_DOMAIN_NAME), (certificate, CERTIFICATE_ARN, MSG_CERTIFICATE_ARN),
              (zone, HOSTED_ZONE_ID, MSG_HOSTED_ZONE))
    wrong = [message.format(value=value) for value, pattern, message in checks
             if value is not None and not pattern.fullmatch(value)]
    for message in wrong:
        section.problem(message)
    if wrong or name is None or certificate is None:
        return None
    return Domain(settled(name), settled(certificate), zone)


def domain_region_problems(domain: Domain, region: str) -> list[str]:
    """A regional domain's certificate lives in the API's region ("Setting up a regional custom
    domain name in API Gateway")."""
    cert_region = domain.certificate_arn.split(":")[3]
    return [] if cert_region == region else [MSG_CERTIFICATE_REGION.format(cert=cert_region, region=region)]


def parse_cache(section: Section | None) -> Cache | None:
    """``cache: {sizeGb, ttlSeconds}``."""
    if section is None:
        return None
    section.check_known(("sizeGb", "ttlSeconds"))
    size = section.number("sizeGb", 0.5, 0.5, 237.0)
    ttl = section.integer("ttlSeconds", Cache.ttl_seconds, 0, 3600)
    named = None if size is None else f"{size:g}"
    if named is not None and named not in CACHE_SIZES_GB:
        section.problem(MSG_CACHE_SIZE.format(value=size, sizes=", ".join(CACHE_SIZES_GB)))
        return None
    return Cache(settled(named), settled(ttl))
