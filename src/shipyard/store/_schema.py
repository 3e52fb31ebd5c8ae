"""Assembling the whole schema and migrating a database to it.

Each service owns its tables in ``shipyard/<service>/tables.py``; the list below is the
one place that names them all, so that Alembic (and the schema test) see every table.
Each service's migrations form their own branch off the foundation revision ``0001``
(``revision = "<service>_0001"``, ``down_revision = "0001"``); the workspace upgrades
to all heads.
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
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ._db import Database, metadata

TABLE_MODULES: list[str] = [
    "shipyard.store.tables",
    "shipyard.compute.tables",
    "shipyard.pipelines.tables",
    "shipyard.labels.tables",
    "shipyard.data.tables",
    "shipyard.features.tables",
    "shipyard.tracking.tables",
    "shipyard.registry.tables",
    "shipyard.evaluation.tables",
    "shipyard.tuning.tables",
    "shipyard.export.tables",
    "shipyard.monitoring.tables",
    "shipyard.serving.tables",
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
def head_revisions() -> tuple[str, ...]:
    """The heads of the migration graph: one branch per service, all off the foundation."""
    return tuple(sorted(ScriptDirectory.from_config(_alembic_config()).get_heads()))


def head_revision() -> str:
    """The schema version as one string (the sorted heads joined by '+')."""
    return "+".join(head_revisions())


def _current(conn: sa.Connection) -> tuple[str, ...]:
    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def current_revision(db: Database) -> str | None:
    with db.errors(), db.engine.connect() as conn:
        heads = _current(conn)
    return "+".join(heads) if heads else None


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
                    command.upgrade(cfg, "heads")
                    conn.commit()
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
            conn.commit()
            try:
                if "+".join(_current(conn)) != head:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "heads")
                    conn.commit()
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
                conn.commit()
    _migrated.add(key)
    return head
