"""The embedded online store: one SQLite file in the workspace home.

Lookups use the standard-library driver directly (no ORM), one connection per thread,
a cached prepared statement per request shape, and one query per lookup.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ...core import ConfigurationError, StorageError
from ._base import Found, OnlineStore, Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_features (
    view_id TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    event_us INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (view_id, entity_key)
) WITHOUT ROWID
"""

_UPSERT = """
INSERT INTO online_features (view_id, entity_key, event_us, created_us, payload)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (view_id, entity_key) DO UPDATE SET
    event_us = excluded.event_us, created_us = excluded.created_us, payload = excluded.payload
WHERE (excluded.event_us, excluded.created_us) >= (event_us, created_us)
"""


class SQLiteOnlineStore(OnlineStore):
    name = "sqlite"

    def __init__(self, url: str) -> None:
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:") else url
        super().__init__(path)
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"cannot open the SQLite online store at {self.path}: {exc}; set "
                "online_store_url to a writable file",
                details={"path": str(self.path)},
            ) from None
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._sql: dict[tuple[int, ...], str] = {}

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.path,
            timeout=60,
            check_same_thread=False,
            cached_statements=512,
            isolation_level=None,
        )
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        return con

    @property
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def write(self, view_id: str, records: Sequence[Record]) -> int:
        con = self._con
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(_UPSERT, [(view_id, k, e, c, p) for k, e, c, p in records])
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise StorageError(f"writing to the online store {self.path} failed: {exc}") from None
        return len(records)

    def read(self, requests: Sequence[tuple[str, str]]) -> Found:
        if not requests:
            return {}
        groups: dict[str, list[str]] = {}
        for view_id, key in requests:
            groups.setdefault(view_id, []).append(key)
        shape = tuple(len(ks) for ks in groups.values())
        sql = self._sql.get(shape)
        if sql is None:
            sql = " UNION ALL ".join(
                "SELECT view_id, entity_key, event_us, payload FROM online_features "
                f"WHERE view_id = ? AND entity_key IN ({', '.join('?' * n)})"
                for n in shape
            )
            self._sql[shape] = sql
        params: list[str] = []
        for view_id, keys in groups.items():
            params.append(view_id)
            params.extend(keys)
        try:
            rows = self._con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"reading the online store {self.path} failed: {exc}") from None
        return {(v, k): (e, p) for v, k, e, p in rows}

    def count(self, view_id: str) -> int:
        row = self._con.execute(
            "SELECT count(*) FROM online_features WHERE view_id = ?", (view_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def delete_view(self, view_id: str) -> None:
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM online_features WHERE view_id = ?", (view_id,))
        con.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()
