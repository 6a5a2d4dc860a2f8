"""The access log file, rotated by size so a long-running local API never fills the disk.

``access.log`` grows to ``max_bytes``, then becomes ``access.log.1`` (older files shift up to
``backups``; the oldest is dropped), as logrotate or Python's RotatingFileHandler would do.
"""

from __future__ import annotations

from pathlib import Path

MAX_BYTES = 20 * 1024 * 1024
BACKUPS = 3


class RotatingAccessLog:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS):
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._size = self._file.tell()

    def write(self, line: str) -> None:
        data = line + "\n"
        size = len(data) if data.isascii() else len(data.encode("utf-8", "replace"))  # lines are ASCII (JSON)
        if self._size and self._size + size > self.max_bytes:
            self._rotate()
        self._file.write(data)
        self._size += size

    def _rotate(self) -> None:
        self._file.close()
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._size = 0

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RotatingAccessLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
