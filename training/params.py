"""Training hyperparameters: defaults, a YAML/JSON file, then command-line overrides."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training.models.autorec import AutoRecParams
from training.models.bpmf import BpmfParams


class ParamsError(ValueError):
    """A hyperparameter file or override that cannot be used; the message names it."""


@dataclass(frozen=True)
class TrainParams:
    bpmf: BpmfParams = field(default_factory=BpmfParams)
    autorec: AutoRecParams = field(default_factory=AutoRecParams)
    autorec_weight: float = 0.5  # share of AutoRec in the blend, the rest is BPMF
    rank: int = 128  # columns of the served factorisation
    holdout_seed: int = 42

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _merge(instance, values: dict[str, Any], where: str):
    if not isinstance(values, dict):
        raise ParamsError(f"{where}: expected a mapping, got {type(values).__name__}")
    known = {f.name: f for f in dataclasses.fields(instance)}
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ParamsError(f"{where}.{key}: unknown hyperparameter; known: {', '.join(known)}")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current):
            changes[key] = _merge(current, value, f"{where}.{key}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(current, int) and not isinstance(value, int)):
            raise ParamsError(f"{where}.{key}: expected {type(current).__name__}, got {value!r}")
        if value < 0:
            raise ParamsError(f"{where}.{key}: must not be negative, got {value}")
        changes[key] = type(current)(value)
    return dataclasses.replace(instance, **changes)


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> TrainParams:
    params = TrainParams()
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ParamsError(f"{path}: {error.strerror}") from None
        try:
            values = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise ParamsError(f"{path}: not valid {'JSON' if str(path).endswith('.json') else 'YAML'}: "
                              f"{' '.join(str(error).split())}") from None
        params = _merge(params, values or {}, str(path))
    if overrides:
        params = _merge(params, overrides, "flags")
    _check(params)
    return params


def _check(params: TrainParams) -> None:
    if not 0.0 <= params.autorec_weight <= 1.0:
        raise ParamsError(f"autorec_weight: {params.autorec_weight} must be within 0..1")
    if params.bpmf.burn_in >= params.bpmf.iterations:
        raise ParamsError("bpmf.burn_in must be below bpmf.iterations so that samples are kept")
    for name, value in (("rank", params.rank), ("bpmf.factors", params.bpmf.factors),
                        ("autorec.hidden", params.autorec.hidden), ("autorec.epochs", params.autorec.epochs)):
        if value < 1:
            raise ParamsError(f"{name}: must be at least 1, got {value}")
