"""Helpers shared by the benchmarks: a trained model to measure, and request bodies."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def model_dir(requested: str | None) -> Path:
    """The folder given, else artifacts/v1, trained first if missing."""
    folder = Path(requested) if requested else ROOT / "artifacts" / "v1"
    if not (folder / "metadata.json").exists():
        if requested:
            sys.exit(f"{folder}: no trained model there")
        ratings = Path(sys.executable).with_name("ratings")
        subprocess.run([str(ratings), "train", "v1", "--out", str(folder.parent), "--quiet"], check=True)
    return folder


def body(items: int, user: int = 321) -> bytes:
    """An Object2Vec request like the API's request template renders."""
    return json.dumps({"instances": [{"in0": [user], "in1": [100 + n]} for n in range(items)]}).encode()


def wrk(url: str, seconds: int, connections: int, payload: bytes | None = None) -> dict[str, float]:
    """One wrk run (a JSON POST when ``payload`` is given, else GET): req/s, p50/p99 ms, errors."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    script = None
    if payload is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                         f"wrk.body = [[{payload.decode()}]]\n")
        command[-1:-1] = ["-s", script.name]
    try:
        text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        if script is not None:
            Path(script.name).unlink()

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", text, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)), "p50": latency("50"),
            "p99": latency("99"), "errors": float(errors.group(1)) if errors else 0.0}
