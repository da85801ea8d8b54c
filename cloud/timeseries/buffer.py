"""The durable buffer: line-protocol chunks kept in an SQLite file while InfluxDB is down."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import zlib
from pathlib import Path


class BufferFullError(RuntimeError):
    """The buffer holds its maximum number of lines; the caller must retry later."""


class BufferInUseError(RuntimeError):
    """Another writer (another service process) holds this buffer file."""


MAX_BUFFER_FILES = 64


def open_buffer(data_dir: Path, max_lines: int) -> SpoolBuffer:
    """The first buffer file of ``data_dir`` no other writer holds.

    ``influx-buffer.sqlite``, then ``influx-buffer-2.sqlite``, ...: each service process
    (``carewatch-cloud serve --workers N``) keeps its own, and a restarted one takes over
    (and drains) a file left by a process that stopped.
    """
    for n in range(1, MAX_BUFFER_FILES + 1):
        name = "influx-buffer.sqlite" if n == 1 else f"influx-buffer-{n}.sqlite"
        try:
            return SpoolBuffer(data_dir / name, max_lines)
        except BufferInUseError:
            continue
    raise BufferInUseError(f"all {MAX_BUFFER_FILES} InfluxDB buffer files in {data_dir} are in use")


class SpoolBuffer:
    """A bounded FIFO of compressed line-protocol chunks in an SQLite file (thread-safe).

    The file is held with an exclusive lock (``<file>.lock``) until ``close``:
    BufferInUseError when another writer holds it.
    """

    def __init__(self, path: Path, max_lines: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_lines = max_lines
        self._lock = threading.Lock()
        self._owner = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._owner)
            raise BufferInUseError(f"{path} is used by another writer") from None
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunks ("
            "id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, "
            "lines INTEGER NOT NULL, body BLOB NOT NULL)"
        )
        row = self._db.execute(
            "SELECT COALESCE(SUM(lines), 0), MIN(created) FROM chunks"
        ).fetchone()
        self.lines: int = int(row[0])
        self.oldest: float | None = row[1]

    def put(self, lines: list[str]) -> None:
        """Append a chunk durably; BufferFullError when it would exceed the bound."""
        with self._lock:
            if self.lines + len(lines) > self.max_lines:
                raise BufferFullError(
                    f"InfluxDB buffer holds {self.lines} of {self.max_lines} lines"
                )
            now = time.time()
            body = zlib.compress("\n".join(lines).encode(), 1)
            self._db.execute(
                "INSERT INTO chunks (created, lines, body) VALUES (?, ?, ?)",
                (now, len(lines), body),
            )
            self.lines += len(lines)
            if self.oldest is None:
                self.oldest = now

    def peek(self) -> tuple[int, bytes] | None:
        """The oldest chunk as (id, line-protocol body), or None when empty."""
        with self._lock:
            row = self._db.execute("SELECT id, body FROM chunks ORDER BY id LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), zlib.decompress(row[1]))

    def remove(self, chunk_id: int) -> None:
        """Drop a chunk that has been written to InfluxDB."""
        with self._lock:
            row = self._db.execute("SELECT lines FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            if row is None:
                return
            self._db.execute("DELETE FROM chunks WHERE id = ?", (chunk_id,))
            self.lines -= int(row[0])
            nxt = self._db.execute("SELECT MIN(created) FROM chunks").fetchone()
            self.oldest = nxt[0]

    def close(self) -> None:
        """Close the file and let another writer take it."""
        with self._lock:
            self._db.close()
            os.close(self._owner)
