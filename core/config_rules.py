"""Rules of the stack config that span a value's format or several fields.

Each message names the field and the fix; tests assert on these constants.
"""

from __future__ import annotations

from collections import Counter

from core import aws_limits, names
from core.arns import ALGORITHM_IMAGE, ECR_IMAGE, S3_MODEL_DATA
from core.fields import Section
from core.routing import Routing

AUTONAME_SUFFIX = names.AUTONAME_SUFFIX  # Pulumi auto-names "<logical name>-<7 random chars>"

MSG_NAME = "{field}: {value!r} is not accepted by SageMaker ({rule}); use letters, digits and single hyphens"
MSG_IMAGE = ("{field}: {value!r} is neither an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/"
             "<repository>:<tag>) nor a built-in algorithm name such as object2vec or sklearn:1.2-1")
MSG_MODEL_DATA = ("{field}: {value!r} must be the S3 URL of a model archive, s3://<bucket>/<key>.tar.gz "
                  "(at most {limit} characters)")
MSG_DUPLICATE = "models[{index}].name: {name!r} is listed more than once; give each version its own name"
MSG_NOT_A_MODEL = "{field}: {value!r} is not a configured model version; use one of {names} or add it under models"
MSG_CANARY_IS_LIVE = ("routing.canary.version: {value!r} is already live; "
                      "canary another version or remove routing.canary")
MSG_TOO_MANY_VERSIONS = ("models: {count} versions, but an endpoint configuration holds at most {limit} production "
                         "variants; retire a version before adding another")
MSG_MODEL_NAME_LENGTH = ("models[{index}].name: SageMaker model '{endpoint}-{name}' plus Pulumi's "
                         "{suffix}-character suffix exceeds {limit} characters; shorten endpoint.name or the version")
MSG_DERIVED_NAME_LENGTH = ("endpoint.name: {kind} '{logical}' plus Pulumi's {suffix}-character suffix exceeds "
                           "{limit} characters; shorten endpoint.name to at most {longest} characters")


def check_name(section: Section, key: str, value: str | None, rule: aws_limits.NameRule) -> None:
    if value is not None and not rule.accepts(value):
        section.problem(MSG_NAME.format(field=section.field(key), value=value, rule=rule.describe))


def check_image(section: Section, image: str | None) -> None:
    if image is None:
        return
    limit = aws_limits.rule("ContainerImage").max_length
    if len(image) > limit or not (ECR_IMAGE.fullmatch(image) or ALGORITHM_IMAGE.fullmatch(image)):
        section.problem(MSG_IMAGE.format(field=section.field("image"), value=image))


def check_model_data(section: Section, url: str | None) -> None:
    if url is None:
        return
    limit = aws_limits.rule("Url").max_length
    if len(url) > limit or not S3_MODEL_DATA.fullmatch(url):
        section.problem(MSG_MODEL_DATA.format(field=section.field("modelData"), value=url, limit=limit))


def check_cross_field(names: list[str], routing: Routing, endpoint_name: str, default_variant: str,
                      problems: list[str]) -> None:
    """Rules between sections (``names``: the model versions as listed); run only once every field
    parsed on its own."""
    if len(names) > aws_limits.max_production_variants():
        problems.append(MSG_TOO_MANY_VERSIONS.format(count=len(names), limit=aws_limits.max_production_variants()))
    for name, count in Counter(names).items():
        if count > 1:
            problems.append(MSG_DUPLICATE.format(index=_last_index(names, name), name=name))
    listed = ", ".join(dict.fromkeys(names))

    def known(field: str, value: str | None) -> None:
        if value is not None and value not in names:
            problems.append(MSG_NOT_A_MODEL.format(field=field, value=value, names=listed))

    known("routing.live", routing.live)
    known("routing.previous", routing.previous)
    known("endpoint.defaultVariant", default_variant)
    if routing.canary is not None:
        known("routing.canary.version", routing.canary.version)
        if routing.canary.version == routing.live:
            problems.append(MSG_CANARY_IS_LIVE.format(value=routing.live))
    _check_derived_name_lengths(names, endpoint_name, problems)


def _check_derived_name_lengths(versions: list[str], endpoint: str, problems: list[str]) -> None:
    """Names Pulumi derives from endpoint.name (and each version) must fit AWS's limits."""
    derived = names.auto_names(endpoint, versions)
    for index, (name, auto) in enumerate(zip(versions, derived[:len(versions)], strict=True)):
        if not auto.fits:
            problems.append(MSG_MODEL_NAME_LENGTH.format(
                index=index, endpoint=endpoint, name=name, suffix=AUTONAME_SUFFIX, limit=auto.limit))
    for auto in derived[len(versions):]:
        if not auto.fits:
            longest = auto.limit - AUTONAME_SUFFIX - (len(auto.logical) - len(endpoint))
            problems.append(MSG_DERIVED_NAME_LENGTH.format(kind=auto.kind, logical=auto.logical,
                                                           suffix=AUTONAME_SUFFIX, limit=auto.limit, longest=longest))


def _last_index(names: list[str], name: str) -> int:
    return len(names) - 1 - names[::-1].index(name)
