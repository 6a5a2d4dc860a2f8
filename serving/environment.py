"""Server settings from SageMaker's environment variables, with local defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.names import MODEL_SERVER_IDENTITY_ENV

MODEL_DIR = "SM_MODEL_DIR"
PORT = "SAGEMAKER_BIND_TO_PORT"
MAX_BODY = "RATINGS_MAX_BODY_BYTES"
IDENTITY = MODEL_SERVER_IDENTITY_ENV  # set by the local runtime for the server it starts (core/names.py)


@dataclass(frozen=True)
class ServerEnvironment:
    model_dir: str = "/opt/ml/model"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    identity: str | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> ServerEnvironment:
        env = os.environ if environ is None else environ
        return cls(model_dir=env.get(MODEL_DIR, cls.model_dir), port=_int(env, PORT, cls.port),
                   max_body_bytes=_int(env, MAX_BODY, cls.max_body_bytes), identity=env.get(IDENTITY))


def _int(env, name: str, default: int) -> int:
    text = env.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a whole number") from None
    if value <= 0:
        raise ValueError(f"{name}={text!r} must be positive")
    return value
