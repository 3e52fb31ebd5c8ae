"""A machine-local cache of file digests keyed by (path, size, mtime_ns, inode).

Re-committing a folder where one file changed re-hashes one file: every other file's
digest comes from here. The cache lives beside the workspace (``<home>/cache/``) in its
own small SQLite file, because paths and inodes only mean something on this machine.
A cache that cannot be opened or written is skipped silently: it only saves time.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

Key = tuple[int, int, int]  # size, mtime_ns, inode


class HashCache:
    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        if path is None:
            return
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(os.fspath(path), timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, inode INTEGER, digest TEXT)"
            )
            conn.commit()
            self._conn = conn
        except (sqlite3.Error, OSError):
            self._conn = None

    def load(self, prefix: str) -> dict[str, tuple[Key, str]]:
        """Every cached entry whose path starts with *prefix* (one query)."""
        if self._conn is None:
            return {}
        hi = prefix + "\U0010ffff"
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT path, size, mtime_ns, inode, digest FROM hashes "
                    "WHERE path >= ? AND path < ?",
                    (prefix, hi),
                ).fetchall()
            except sqlite3.Error:
                return {}
        return {p: ((s, m, i), d) for p, s, m, i, d in rows}

    def store(self, entries: Iterable[tuple[str, Key, str]]) -> None:
        if self._conn is None:
            return
        rows = [(p, k[0], k[1], k[2], d) for p, k, d in entries]
        if not rows:
            return
        with self._lock:
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO hashes (path, size, mtime_ns, inode, digest) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                self._conn.commit()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
