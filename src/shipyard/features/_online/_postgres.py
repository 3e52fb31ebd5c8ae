"""The PostgreSQL online store: one table, psycopg 3, prepared statements, no ORM."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ...core import ConfigurationError, MissingExtra, StorageError
from ._base import Found, OnlineStore, Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shipyard_online_features (
    view_id TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    event_us BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (view_id, entity_key)
)
"""

_UPSERT = """
INSERT INTO shipyard_online_features AS t (view_id, entity_key, event_us, created_us, payload)
SELECT %s, k, e, c, p FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bytea[])
    AS u(k, e, c, p)
ON CONFLICT (view_id, entity_key) DO UPDATE SET
    event_us = excluded.event_us, created_us = excluded.created_us, payload = excluded.payload
WHERE (excluded.event_us, excluded.created_us) >= (t.event_us, t.created_us)
"""

_READ = """
SELECT f.view_id, f.entity_key, f.event_us, f.payload
FROM unnest(%s::text[], %s::text[]) AS r(v, k)
JOIN shipyard_online_features f ON f.view_id = r.v AND f.entity_key = r.k
"""


def _conninfo(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class PostgresOnlineStore(OnlineStore):
    name = "postgres"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            import psycopg
        except ImportError:
            raise MissingExtra("the PostgreSQL online store", "postgres", "psycopg") from None
        self._psycopg: Any = psycopg
        self._conninfo = _conninfo(url)
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        try:
            self._con.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"cannot use the PostgreSQL online store at {self.display_url}: {exc}; "
                "check online_store_url",
                details={"url": self.display_url},
            ) from None

    @property
    def display_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self._conninfo).render_as_string(hide_password=True)

    @property
    def _con(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is None or con.closed:
            try:
                con = self._psycopg.connect(self._conninfo, autocommit=True, prepare_threshold=0)
            except self._psycopg.Error as exc:
                raise StorageError(
                    f"cannot reach the PostgreSQL online store {self.display_url}: {exc}"
                ) from None
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def write(self, view_id: str, records: Sequence[Record]) -> int:
        if not records:
            return 0
        keys, events, created, payloads = (list(c) for c in zip(*records, strict=True))
        try:
            with self._con.transaction():
                self._con.execute(_UPSERT, (view_id, keys, events, created, payloads))
        except self._psycopg.Error as exc:
            raise StorageError(f"writing to the online store {self.display_url} failed: {exc}")
        return len(records)

    def read(self, requests: Sequence[tuple[str, str]]) -> Found:
        if not requests:
            return {}
        views = [v for v, _ in requests]
        keys = [k for _, k in requests]
        try:
            rows = self._con.execute(_READ, (views, keys)).fetchall()
        except self._psycopg.Error as exc:
            raise StorageError(f"reading the online store {self.display_url} failed: {exc}")
        return {(v, k): (int(e), bytes(p)) for v, k, e, p in rows}

    def count(self, view_id: str) -> int:
        row = self._con.execute(
            "SELECT count(*) FROM shipyard_online_features WHERE view_id = %s", (view_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def delete_view(self, view_id: str) -> None:
        self._con.execute("DELETE FROM shipyard_online_features WHERE view_id = %s", (view_id,))

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()
