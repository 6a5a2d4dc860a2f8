"""The access log rotates by size and keeps a bounded number of old files."""

from __future__ import annotations

import json

from emulator.access_log import RotatingAccessLog


def test_the_log_rotates_at_its_size_and_keeps_the_newest_lines(tmp_path):
    path = tmp_path / "access.log"
    line = json.dumps({"requestId": "x" * 80})
    with RotatingAccessLog(path, max_bytes=1000, backups=2) as log:
        for n in range(100):
            log.write(line.replace("x" * 4, f"{n:04d}", 1))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["access.log", "access.log.1", "access.log.2"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    last = path.read_text().splitlines()[-1]
    assert json.loads(last)["requestId"].startswith("0099"), "the current file holds the newest line"


def test_an_existing_log_is_appended_to(tmp_path):
    path = tmp_path / "access.log"
    path.write_text('{"old": 1}\n')
    with RotatingAccessLog(path, max_bytes=1000) as log:
        log.write('{"new": 2}')
    assert path.read_text().splitlines() == ['{"old": 1}', '{"new": 2}']
