"""A Cognito user pool authorizer on the local stage (``api.auth: cognito``), as a client sees it.

API Gateway's COGNITO_USER_POOLS authorizer reads the user's ID token from the Authorization
header and answers a missing or invalid one with the UNAUTHORIZED gateway response (401
``{"message":"Unauthorized"}``), and an expired one with 401 "The incoming token has expired".
Locally a token must be a JWT (three base64url parts) whose claims name the pool's issuer
(``iss``), ``token_use`` "id" and an ``exp`` still to come (Cognito developer guide, "Verifying a
JSON web token"). Its signature is not checked, since the pool's signing keys are on AWS: the
start-up banner says so and prints a token the local stage accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import Any

from core.config_edge import AuthMode, Cognito
from emulator.gateway_context import RequestContext
from emulator.gateway_errors import GatewayError, GatewayErrorKind

BEARER = "bearer "
EXPIRED = "The incoming token has expired"
LOCAL_TOKEN_LIFETIME_S = 3600
MSG_BANNER = ("the stage requires an ID token of user pool {pool} in the Authorization header; its signature is "
              "not checked locally (the pool's keys are on AWS). A token valid for an hour:\n"
              '  curl -H "Authorization: {token}" ...')


def _part(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def local_token(pool: Cognito, now: float) -> str:
    """An unsigned ID token of ``pool`` for a user "local-user", for trying the local stage."""
    claims = {"sub": "local-user", "iss": pool.issuer, "token_use": "id", "aud": "local-app-client",
              "iat": int(now), "exp": int(now) + LOCAL_TOKEN_LIFETIME_S}
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims)}.local-unsigned"


def banner(pool: Cognito, now: float) -> str:
    return MSG_BANNER.format(pool=pool.user_pool_id, token=local_token(pool, now))


def claims_of(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, or None for anything that is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


class UserPoolAuthorizer:
    """The pipeline step, after routing: the stage's method requires the pool's ID token."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock

    def admit(self, context: RequestContext) -> None:
        api = context.state.config.api
        if api.auth is not AuthMode.COGNITO or api.cognito is None:
            return
        token = (context.header("authorization") or "").strip()
        if token.lower().startswith(BEARER):
            token = token[len(BEARER):].strip()
        claims = claims_of(token)
        if claims is None or claims.get("iss") != api.cognito.issuer or claims.get("token_use") != "id":
            raise GatewayError(GatewayErrorKind.UNAUTHORIZED)
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise GatewayError(GatewayErrorKind.UNAUTHORIZED)
        if expires <= self._clock():
            raise GatewayError(GatewayErrorKind.UNAUTHORIZED, EXPIRED)
