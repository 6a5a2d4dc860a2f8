"""Inference handler with the SageMaker framework-container contract.

``model_fn`` / ``input_fn`` / ``predict_fn`` / ``output_fn`` are the framework container's hooks;
the local model server calls them. ``respond`` runs them in turn and turns a refusal into its
status and a JSON body: the archive serves it through ``transform_fn``
(``training/sagemaker_entry.py``), because the image's serving library answers any exception of a
hook with a 500 HTML page. It needs numpy only, and speaks Object2Vec's formats, so a locally
trained version can sit next to Object2Vec as a production variant behind the same templates.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

JSON = "application/json"
JSONLINES = "application/jsonlines"
CONTENT_TYPES = (JSON, JSONLINES)
ARRAYS_FILE = "model.npz"
METADATA_FILE = "metadata.json"
FORMAT = "ratings-factorisation/1"
MIN_RATING, MAX_RATING = 1.0, 5.0
MAX_INSTANCES = 10_000
INTERNAL_ERROR = "internal error; see the model's log"
LOG = logging.getLogger("ratings.inference")

FALLBACKS = {
    "unknown item": "global mean + the user's bias",
    "unknown user": "global mean + the item's bias",
    "both unknown": "global mean",
}


class InferenceError(Exception):
    """A request the model cannot answer; ``status`` is the HTTP status to return."""

    status = 400


class UnsupportedContentType(InferenceError):
    status = 415


class NotAcceptable(InferenceError):
    status = 406


class ModelLoadError(Exception):
    """A model directory that cannot be loaded."""


@dataclass(frozen=True)
class Model:
    """A low-rank factorisation with biases: mean + b_u + b_i + p_u . q_i, clipped to 1..5."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    global_mean: float
    metadata: dict[str, Any] = field(default_factory=dict)
    # id -> row of the factor arrays, built once from user_ids and item_ids
    _user_rows: dict[int, int] = field(init=False, repr=False, compare=False)
    _item_rows: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_user_rows", {int(u): n for n, u in enumerate(self.user_ids.tolist())})
        object.__setattr__(self, "_item_rows", {int(i): n for n, i in enumerate(self.item_ids.tolist())})

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    def predict_rows(self, user_rows: np.ndarray, item_rows: np.ndarray) -> np.ndarray:
        """Ratings for row indexes; -1 marks an id training never saw (see FALLBACKS)."""
        known_user, known_item = user_rows >= 0, item_rows >= 0
        u, i = np.where(known_user, user_rows, 0), np.where(known_item, item_rows, 0)
        score = self.global_mean + np.where(known_user, self.user_bias[u], 0.0) + np.where(
            known_item, self.item_bias[i], 0.0)
        both = known_user & known_item
        if both.any():
            score[both] += np.einsum("nk,nk->n", self.user_factors[u[both]], self.item_factors[i[both]])
        return np.clip(score, MIN_RATING, MAX_RATING)

    def predict(self, users: list[int], items: list[int]) -> np.ndarray:
        """One rating per (user id, item id) pair, in order."""
        user_rows = np.fromiter((self._user_rows.get(u, -1) for u in users), np.int64, len(users))
        item_rows = np.fromiter((self._item_rows.get(i, -1) for i in items), np.int64, len(items))
        return self.predict_rows(user_rows, item_rows)


ARRAYS = ("user_ids", "item_ids", "user_factors", "item_factors", "user_bias", "item_bias", "global_mean")


def load_model(model_dir: Path | str) -> Model:
    folder = Path(model_dir)
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text())
        with np.load(io.BytesIO((folder / ARRAYS_FILE).read_bytes())) as arrays:
            values = {name: arrays[name] for name in arrays.files}
    except FileNotFoundError as error:
        raise ModelLoadError(f"{folder}: missing {Path(error.filename).name}; train a version with "
                             "`ratings train` or point at the folder that holds it") from None
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ModelLoadError(f"{folder}: unreadable model files ({type(error).__name__}: {error})") from None
    if metadata.get("format") != FORMAT:
        raise ModelLoadError(f"{folder}: format {metadata.get('format')!r}, expected {FORMAT!r}")
    missing = [name for name in ARRAYS if name not in values]
    if missing:
        raise ModelLoadError(f"{folder}: unreadable model files ({ARRAYS_FILE} lacks {', '.join(missing)})")
    return Model(values["user_ids"], values["item_ids"], values["user_factors"].astype(np.float64),
                 values["item_factors"].astype(np.float64), values["user_bias"].astype(np.float64),
                 values["item_bias"].astype(np.float64), float(values["global_mean"]), metadata)


# --- the SageMaker hooks -------------------------------------------------------------------

def model_fn(model_dir: str) -> Model:
    return load_model(model_dir)


def _media_type(header: str | None, default: str) -> str:
    return (header or default).split(";")[0].strip().lower() or default


def _id(value: Any, where: str) -> int:
    if (not isinstance(value, list) or len(value) != 1 or isinstance(value[0], bool)
            or not isinstance(value[0], int)):
        raise InferenceError(f"{where}: expected a list holding one integer id, got {json.dumps(value)[:60]}")
    return value[0]


def _instance(value: Any, where: str) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise InferenceError(f"{where}: expected an object with in0 and in1, got {json.dumps(value)[:60]}")
    extra = sorted(set(value) - {"in0", "in1"})
    if extra:
        raise InferenceError(f"{where}: unexpected field {extra[0]!r}; an instance has in0 and in1 only")
    for key in ("in0", "in1"):
        if key not in value:
            raise InferenceError(f"{where}: missing {key}")
    return _id(value["in0"], f"{where}.in0"), _id(value["in1"], f"{where}.in1")


def _parse_json(text: str, where: str) -> Any:
    """The request's JSON, or one InferenceError (a 400) for any body the parser refuses: malformed,
    nested past the interpreter's recursion limit, or a number past Python's 4,300-digit limit
    for converting text to an int (both raise outside JSONDecodeError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InferenceError(f"{where}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") \
            from None
    except RecursionError:
        raise InferenceError(f"{where}: nested too deeply to be a request") from None
    except ValueError as error:
        raise InferenceError(f"{where}: not a request ({error})") from None


def _instances_of(document: Any) -> list[Any]:
    if not isinstance(document, dict):
        raise InferenceError("body: expected an object with an \"instances\" list")
    if "error" in document and "instances" not in document:
        # the API's request template refused the request and says why
        raise InferenceError(str(document["error"]))
    instances = document.get("instances")
    if not isinstance(instances, list):
        raise InferenceError("body: expected an object with an \"instances\" list")
    return instances


def input_fn(body: bytes | str, content_type: str | None) -> list[tuple[int, int]]:
    """(user, item) pairs from Object2Vec's JSON or JSON-lines request."""
    media = _media_type(content_type, JSON)
    if media not in CONTENT_TYPES:
        raise UnsupportedContentType(f"content type {media!r} is not supported; use {' or '.join(CONTENT_TYPES)}")
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise InferenceError("body: not UTF-8 text") from None
    if media == JSON:
        instances = _instances_of(_parse_json(text, "body"))
    else:
        instances = [_parse_json(line, f"line {n}") for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not instances:
        raise InferenceError("instances: empty; send at least one {\"in0\": [user], \"in1\": [item]}")
    if len(instances) > MAX_INSTANCES:
        raise InferenceError(f"instances: {len(instances)} given, at most {MAX_INSTANCES} per request")
    return [_instance(value, f"instances[{n}]") for n, value in enumerate(instances)]


def predict_fn(pairs: list[tuple[int, int]], model: Model) -> np.ndarray:
    users, items = zip(*pairs, strict=True)
    return model.predict(list(users), list(items))


def output_fn(prediction: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    """Object2Vec's response: {"predictions": [{"scores": [x]}, ...]} (or one line each)."""
    media = _media_type(accept, JSON)
    if media in ("*/*", JSON):
        body = '{"predictions":[' + ",".join(f'{{"scores":[{float(x)!r}]}}' for x in prediction) + "]}"
        return body.encode(), JSON
    if media == JSONLINES:
        return "".join(f'{{"scores":[{float(x)!r}]}}\n' for x in prediction).encode(), JSONLINES
    raise NotAcceptable(f"accept {media!r} is not supported; use {' or '.join(CONTENT_TYPES)}")


@dataclass(frozen=True)
class Reply:
    """What ``POST /invocations`` answers: a status, a body and its media type."""

    status: int
    body: bytes
    media_type: str


def _refusal(status: int, message: str) -> Reply:
    return Reply(status, json.dumps({"message": message}).encode(), JSON)


def respond(model: Model, body: bytes | str, content_type: str | None, accept: str | None) -> Reply:
    """The whole invocation: predictions, or ``{"message": ...}`` with the refusal's own status.

    An unexpected failure is logged and answered 500 with a generic message, never a traceback.
    """
    try:
        payload, media_type = output_fn(predict_fn(input_fn(body, content_type), model), accept)
    except InferenceError as error:
        return _refusal(error.status, str(error))
    except Exception:  # the boundary: anything else is the model's fault, told in its log only
        LOG.exception("invocation failed")
        return _refusal(500, INTERNAL_ERROR)
    return Reply(200, payload, media_type)
