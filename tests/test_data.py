"""MovieLens loading, the per-user hold-out and Object2Vec's channels."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from training import data, movielens


def _u_data(users: int = 3, per_user: int = 12) -> str:
    rows = [f"{u}\t{100 + n}\t{1 + (u + n) % 5}\t{880000000 + n}" for u in range(1, users + 1)
            for n in range(per_user)]
    return "\n".join(rows) + "\n"


def test_loads_a_folder_and_its_ua_split(tmp_path):
    (tmp_path / "ml-100k").mkdir()
    (tmp_path / "ml-100k" / "u.data").write_text(_u_data())
    (tmp_path / "ml-100k" / "ua.base").write_text("1\t100\t4\t1\n2\t100\t3\t1\n")
    (tmp_path / "ml-100k" / "ua.test").write_text("1\t101\t5\t2\n")
    ratings, split = data.load(tmp_path)
    assert len(ratings) == 36 and split.source == "ua"
    assert split.test.items.tolist() == [101]


def test_loads_a_zip(tmp_path):
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("ml-100k/u.data", _u_data())
    ratings, split = data.load(archive)
    assert len(ratings) == 36 and split is None


@pytest.mark.parametrize(("text", "message"), [
    ("1\t2\t3\n", "u.data, line 1: expected 4 fields (user item rating timestamp), got 3"),
    ("1\t2\t3\t4\n1\tx\t3\t4\n", "u.data, line 2: non-numeric field in '1\\tx\\t3\\t4'"),
    ("1\t2\t7\t4\n", "u.data, line 1: rating 7 is outside 1..5"),
    ("0\t2\t3\t4\n", "u.data, line 1: ids must be positive, got user 0, item 2"),
    ("\n\n", "u.data: no ratings found"),
])
def test_malformed_files_name_line_and_reason(tmp_path, text, message):
    (tmp_path / "u.data").write_text(text)
    with pytest.raises(data.DataError) as raised:
        data.load(tmp_path)
    assert str(raised.value) == message


def test_missing_sources_are_clear_errors(tmp_path):
    with pytest.raises(data.DataError, match="no such file or directory"):
        data.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match=re.escape("no u.data inside")):
        data.load(tmp_path / "empty")
    (tmp_path / "x.zip").write_text("not a zip")
    with pytest.raises(data.DataError, match="not a zip archive"):
        data.load(tmp_path / "x.zip")


def test_holdout_takes_ten_per_user_deterministically():
    ratings = data.parse(_u_data(users=5, per_user=15), "u.data")
    first, again, other = data.holdout(ratings, 7), data.holdout(ratings, 7), data.holdout(ratings, 8)
    assert np.bincount(first.test.users).tolist()[1:] == [10] * 5
    assert len(first.train) + len(first.test) == len(ratings)
    assert first.test.items.tolist() == again.test.items.tolist()
    assert first.test.items.tolist() != other.test.items.tolist()


def test_holdout_refuses_users_with_too_few_ratings():
    with pytest.raises(data.DataError, match="user 1 has 10 ratings"):
        data.holdout(data.parse(_u_data(users=1, per_user=10), "u.data"))


def test_object2vec_lines():
    split = data.holdout(data.parse(_u_data(users=2, per_user=12), "u.data"))
    lines = data.object2vec_lines(split.test).splitlines()
    assert len(lines) == 20
    first = json.loads(lines[0])
    assert set(first) == {"in0", "in1", "label"} and isinstance(first["in0"][0], int)
    assert len(data.object2vec_lines(split.train, shuffle_seed=0).splitlines()) == 4


def test_default_copy_is_movielens_100k(tmp_path, monkeypatch):
    ratings = movielens.load_default()
    assert len(ratings) == 100_000
    assert len(np.unique(ratings.users)) == 943 and len(np.unique(ratings.items)) == 1682
    assert ratings.checksum() == movielens.RATINGS_SHA256
    # the first rows of u.data, as published
    assert (ratings.users[0], ratings.items[0], ratings.ratings[0]) == (196, 242, 3.0)


def _fetch_in_a_new_process(cache: Path) -> subprocess.Popen:
    code = ("import sys; from pathlib import Path; from training import movielens; "
            "print(movielens.fetch(Path(sys.argv[1])))")
    return subprocess.Popen([sys.executable, "-c", code, str(cache)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_processes_fetching_at_once_get_the_same_verified_wheel(tmp_path):
    """From PyPI, into an empty cache: one downloads, the other waits; no partial file is ever read."""
    fetches = [_fetch_in_a_new_process(tmp_path) for _ in range(2)]
    results = [fetch.communicate(timeout=300) for fetch in fetches]
    assert [fetch.returncode for fetch in fetches] == [0, 0], results
    wheel = tmp_path / "downloads" / movielens.WHEEL
    assert {out.strip() for out, _ in results} == {str(wheel)}
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == movielens.WHEEL_SHA256
    assert sorted(p.name for p in wheel.parent.iterdir()) == [movielens.WHEEL, f"{movielens.WHEEL}.lock"]


def test_a_damaged_cached_wheel_is_downloaded_again(tmp_path):
    wheel = tmp_path / "downloads" / movielens.WHEEL
    wheel.parent.mkdir()
    wheel.write_bytes(b"cut short")
    assert movielens.fetch(tmp_path) == wheel
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == movielens.WHEEL_SHA256


def test_a_download_that_fails_its_checksum_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(movielens, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(data.DataError, match="checksum mismatch"):
        movielens.fetch(tmp_path)
    assert [p.name for p in (tmp_path / "downloads").iterdir()] == [f"{movielens.WHEEL}.lock"]
