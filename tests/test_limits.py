"""Runtime limits: AWS's numbers by default, lowered through named environment variables."""

from __future__ import annotations

from unittest import mock

import pytest

from emulator.limits import MB, Limits


def test_defaults_are_the_aws_quotas():
    """API Gateway: 29 s integration timeout, 10 MB payload, 10,240 bytes of request line and
    headers; SageMaker InvokeEndpoint: 6 MB payload, 60 s for the container to answer."""
    with mock.patch.dict("os.environ", {}, clear=True):
        limits = Limits.from_environ()
    assert limits == Limits()
    assert (limits.integration_timeout_s, limits.max_request_bytes, limits.max_header_bytes) == (29.0, 10 * MB, 10_240)
    assert (limits.max_invocation_bytes, limits.model_timeout_s) == (6 * MB, 60.0)


@pytest.mark.parametrize(("environ", "field", "value"), [
    ({"RATINGS_INTEGRATION_TIMEOUT_S": "0.5"}, "integration_timeout_s", 0.5),
    ({"RATINGS_MAX_HEADER_BYTES": "2048"}, "max_header_bytes", 2048),
    ({"RATINGS_QUEUE_PER_VARIANT": "10"}, "queue_per_variant", 10),
])
def test_a_limit_is_lowered_through_its_variable(environ, field, value):
    with mock.patch.dict("os.environ", environ, clear=True):
        assert getattr(Limits.from_environ(), field) == value


@pytest.mark.parametrize("text", ["soon", "0", "-1"])
def test_a_bad_value_names_the_variable(text):
    with mock.patch.dict("os.environ", {"RATINGS_BODY_TIMEOUT_S": text}, clear=True), \
            pytest.raises(ValueError, match=f"RATINGS_BODY_TIMEOUT_S='{text}' must be a positive number"):
        Limits.from_environ()
