"""The environment of SageMaker's scikit-learn serving library, built once and cached.

``tests/sklearn_image/requirements.txt`` pins it exactly; the environment lives under
``.cache/`` in a folder named by the file's hash, so a changed pin builds a fresh one and an
unchanged one is reused. ``uv`` builds it when present (on PATH or bootstrapped by ``make``), else
``python -m venv`` and pip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "tests" / "sklearn_image" / "requirements.txt"
DRIVER = ROOT / "tests" / "sklearn_image" / "driver.py"
CACHE = ROOT / ".cache"
BUILD_TIMEOUT = 600  # seconds; a first build downloads ~100 MB of wheels
READY_MARK = "ready"
PREFIX = "sklearn-image-"


def pins_digest() -> str:
    return hashlib.sha256(PINS.read_bytes()).hexdigest()[:16]


def _python_of(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def _run(command: list[str], **extra) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, **extra)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")


def _uv() -> str | None:
    """uv on PATH, else the copy `make` bootstrapped into .cache/ on a fresh machine."""
    bootstrapped = sorted(CACHE.glob("uv-*/bin/uv"))
    return shutil.which("uv") or (str(bootstrapped[-1]) if bootstrapped else None)


def _build(env_dir: Path) -> None:
    uv = _uv()
    if uv:
        _run([uv, "venv", "-q", str(env_dir), "-p", sys.executable])
        _run([uv, "pip", "install", "-q", "-r", str(PINS)], env={**os.environ, "VIRTUAL_ENV": str(env_dir)})
    else:
        _run([sys.executable, "-m", "venv", str(env_dir)])
        _run([str(_python_of(env_dir)), "-m", "pip", "install", "-q", "-r", str(PINS)])


def environment() -> Path:
    """The python of the cached environment, built now if missing.

    Built under a lock (parallel test workers may ask at once) in a scratch folder and renamed into
    place, so an interrupted build is never reused.
    """
    env_dir = CACHE / f"{PREFIX}{pins_digest()}"
    CACHE.mkdir(exist_ok=True)
    with FileLock(CACHE / f".{PREFIX}build.lock"):
        if not (env_dir / READY_MARK).exists():
            _build_into(env_dir)
    return _python_of(env_dir)


def _build_into(env_dir: Path) -> None:
    scratch = CACHE / f".{env_dir.name}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        _build(scratch)
        (scratch / READY_MARK).write_text(PINS.read_text())
        shutil.rmtree(env_dir, ignore_errors=True)
        scratch.rename(env_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for stale in CACHE.glob(f"{PREFIX}*"):  # environments of earlier pin files
        if stale != env_dir:
            shutil.rmtree(stale, ignore_errors=True)
