"""The questions `canary compare` asks: by default the hold-out each version was evaluated on when
it was trained, regenerated from the same data and checked against what the artifacts recorded;
or the (user, item[, rating]) pairs of a file. Also what each version knows, to tell its
fallback answers apart (the served answer does not say it fell back).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from core.quality import Sample
from training import data as movielens_data
from training.inference import ARRAYS_FILE, METADATA_FILE

MSG_NO_METADATA = ("{version}: no {file} in {folder}; the default sample is the hold-out recorded there by "
                   "`ratings train` (pass --artifacts DIR, or --pairs FILE)")
MSG_BAD_METADATA = "{path}: not a trained version's metadata ({problem})"
MSG_DIFFERENT_HOLDOUTS = ("{live} and {candidate} were evaluated on different hold-outs ({live_split} of data "
                          "{live_sum}, {candidate_split} of data {candidate_sum}); compare them on --pairs FILE")
MSG_CHECKSUM = ("the ratings read ({found}) are not the data {version} was trained on ({recorded}); "
                "pass the same copy with --data")
MSG_UA_NEEDS_DATA = "{version} was evaluated on MovieLens' own ua split; pass the folder that holds it with --data"
MSG_UNKNOWN_SPLIT = "{version}: unknown hold-out {split!r} in its metadata; compare it on --pairs FILE"
MSG_SIZE = "the regenerated hold-out has {found} ratings, {version} recorded {recorded}"
MSG_PAIRS_MISSING = "{path}: no such file"
MSG_PAIRS_EMPTY = "{path}: no pairs; write one `user,item[,rating]` per line"
MSG_PAIRS_LINE = "{path}, line {line}: {problem}; expected `user,item[,rating]` with integer ids and a rating in 1..5"
HOLDOUT = re.compile(r"holdout-(?P<seed>\d+)")
HEADER = re.compile(r"\s*user\s*[,\t ]\s*item", re.IGNORECASE)


class SampleError(ValueError):
    """A sample that cannot be built; the message names the file or version and the fix."""


def metadata(folder: Path, version: str) -> dict:
    path = folder / METADATA_FILE
    if not path.is_file():
        raise SampleError(MSG_NO_METADATA.format(version=version, file=METADATA_FILE, folder=folder))
    try:
        found = json.loads(path.read_text())
    except ValueError as error:
        raise SampleError(MSG_BAD_METADATA.format(path=path, problem=f"not JSON: {error}")) from None
    data = found.get("data") if isinstance(found, dict) else None
    if not isinstance(data, dict) or not {"checksum", "split"} <= data.keys():
        raise SampleError(MSG_BAD_METADATA.format(path=path, problem="no data.checksum and data.split"))
    return found


def holdout(live: tuple[str, Path], candidate: tuple[str, Path], data_source: Path | None) -> Sample:
    """The hold-out both versions were evaluated on; they must have recorded the same one."""
    (live_name, _), (candidate_name, _) = live, candidate
    recorded = {name: metadata(folder, name)["data"] for name, folder in (live, candidate)}
    first, second = recorded[live_name], recorded[candidate_name]
    if (first["checksum"], first["split"]) != (second["checksum"], second["split"]):
        raise SampleError(MSG_DIFFERENT_HOLDOUTS.format(
            live=live_name, candidate=candidate_name, live_split=first["split"], live_sum=first["checksum"][:12],
            candidate_split=second["split"], candidate_sum=second["checksum"][:12]))
    return regenerate(candidate_name, second, data_source)


def regenerate(version: str, recorded: dict, data_source: Path | None) -> Sample:
    """Rebuild the test split from the same ratings (checksum verified) and the same seed."""
    split_name = recorded["split"]
    seed_match = HOLDOUT.fullmatch(split_name)
    if split_name == "ua":
        if data_source is None:
            raise SampleError(MSG_UA_NEEDS_DATA.format(version=version))
    elif seed_match is None:
        raise SampleError(MSG_UNKNOWN_SPLIT.format(version=version, split=split_name))
    ratings, own_split = _ratings(data_source)
    found = ratings.checksum()
    if found != recorded["checksum"]:
        raise SampleError(MSG_CHECKSUM.format(found=found[:12], version=version, recorded=recorded["checksum"][:12]))
    if split_name == "ua":
        if own_split is None:
            raise SampleError(MSG_UA_NEEDS_DATA.format(version=version))
        test = own_split.test
    else:
        assert seed_match is not None  # an unknown split was refused above
        try:
            test = movielens_data.holdout(ratings, int(seed_match["seed"])).test
        except movielens_data.DataError as error:
            raise SampleError(str(error)) from None
    expected = recorded.get("test_ratings")
    if expected is not None and expected != len(test):
        raise SampleError(MSG_SIZE.format(found=len(test), version=version, recorded=expected))
    return Sample(test.users, test.items, test.ratings.astype(np.float64),
                  f"the hold-out {version} was evaluated on ({split_name}, {len(test):,} ratings)")


def _ratings(data_source: Path | None):
    try:
        if data_source is None:
            from training import movielens

            return movielens.load_default(), None
        return movielens_data.load(data_source)
    except movielens_data.DataError as error:
        raise SampleError(str(error)) from None


def pairs_file(path: Path) -> Sample:
    """``user,item[,rating]`` per line (commas, tabs or spaces); an optional header; ``#`` comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SampleError(MSG_PAIRS_MISSING.format(path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SampleError(f"{path}: cannot read it ({error})") from None
    rows: list[tuple[int, int, float]] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text or (not rows and HEADER.match(text)):
            continue
        rows.append(_pair(text, path, number))
    if not rows:
        raise SampleError(MSG_PAIRS_EMPTY.format(path=path))
    users, items, ratings = zip(*rows, strict=True)
    return Sample(np.array(users, np.int64), np.array(items, np.int64), np.array(ratings, np.float64),
                  f"{path.name} ({len(rows):,} pairs)")


def _pair(text: str, path: Path, number: int) -> tuple[int, int, float]:
    fields = [field for field in re.split(r"[,\t ]+", text) if field]
    if len(fields) not in (2, 3):
        raise SampleError(MSG_PAIRS_LINE.format(path=path, line=number, problem=f"{len(fields)} fields"))
    try:
        user, item = int(fields[0]), int(fields[1])
    except ValueError:
        raise SampleError(MSG_PAIRS_LINE.format(path=path, line=number, problem="ids must be integers")) from None
    if user < 1 or item < 1:
        raise SampleError(MSG_PAIRS_LINE.format(path=path, line=number, problem="ids must be positive"))
    rating = float("nan")
    if len(fields) == 3:
        try:
            rating = float(fields[2])
        except ValueError:
            raise SampleError(MSG_PAIRS_LINE.format(path=path, line=number, problem="the rating is not a number")) \
                from None
        if not 1 <= rating <= 5:
            raise SampleError(MSG_PAIRS_LINE.format(path=path, line=number, problem=f"rating {fields[2]} outside 1..5"))
    return user, item, rating


def known_ids(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The user and item ids a trained version has factors for (its ``model.npz``); None when the
    version's arrays are not here (an Object2Vec variant, say): its fallbacks cannot be told."""
    try:
        with np.load(folder / ARRAYS_FILE) as arrays:
            return arrays["user_ids"], arrays["item_ids"]
    except (OSError, KeyError, ValueError):
        return None
