"""Assembling the whole schema and migrating a database to it.

Each service owns its tables in ``shipyard/<service>/tables.py``; the list below is the
one place that names them all, so that Alembic (and the schema test) see every table.
Migrations run automatically when a workspace opens, under a lock: a file lock beside
the SQLite file, or a PostgreSQL advisory lock, so that several processes opening a
new workspace at once apply them exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from alembic import command

from ._db import Database, metadata

TABLE_MODULES: list[str] = [
    "shipyard.store.tables",
]
"""Every module that registers tables on :data:`shipyard.store.metadata`."""

_PG_LOCK_KEY = 0x5348_4950  # "SHIP"
_migrated: set[str] = set()


def load_metadata() -> sa.MetaData:
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return metadata


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


@cache
def head_revision() -> str:
    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    if len(heads) != 1:  # pragma: no cover - guards a broken migration chain
        raise RuntimeError(f"migration chain has {len(heads)} heads: {heads}")
    return heads[0]


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def migrate(db: Database) -> str:
    """Bring *db* to the head revision, once, safely under concurrency. Returns it."""
    with db.errors():
        return _migrate(db)


def _migrate(db: Database) -> str:
    key = db.display_url
    head = head_revision()
    if key in _migrated:
        return head
    if current_revision(db) == head:
        _migrated.add(key)
        return head
    cfg = _alembic_config()
    if db.backend == "sqlite":
        with _file_lock(Path(f"{db.url.database}.migrate.lock")):
            if current_revision(db) != head:
                with db.engine.connect() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    conn.commit()
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
            conn.commit()
            try:
                if MigrationContext.configure(conn).get_current_revision() != head:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    conn.commit()
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
                conn.commit()
    _migrated.add(key)
    return head
