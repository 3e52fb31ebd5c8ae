"""The metadata database: one SQLAlchemy engine per workspace, short transactions.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Write transactions
start with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of
failing with "database is locked" when a read lock cannot be upgraded. PostgreSQL is
reached through psycopg 3.

Services use SQLAlchemy Core through :meth:`Database.write` and :meth:`Database.read`;
each call is one short transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool

from ..core import ConfigurationError, MissingExtra, StorageError

SQLITE_BUSY_TIMEOUT_MS = 60_000

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""The one MetaData every service registers its tables on."""


def normalize_db_url(url: str) -> sa.URL:
    """Parse a DB URL, choosing psycopg 3 for PostgreSQL; raise ConfigurationError."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError(
            f"invalid database URL {url!r}: {exc}; expected e.g. "
            "'sqlite:///path/to/shipyard.db' or 'postgresql://user@host:5432/dbname'",
            details={"db_url": url},
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres") and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r} in {url!r}: Shipyard "
            "stores metadata in SQLite (the default) or PostgreSQL",
            details={"db_url": url},
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigurationError(
            f"invalid database URL {url!r}: SQLite needs a file path "
            "(sqlite:///path/to/shipyard.db); in-memory databases cannot be shared "
            "between the processes a workspace uses",
            details={"db_url": url},
        )
    return parsed


def _sqlite_engine(url: sa.URL) -> Engine:
    db_path = Path(url.database or "")
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        probe = db_path.parent / f".probe-{id(url)}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the metadata database at {db_path}: {exc.strerror or exc}; "
            "choose a writable workspace home (SHIPYARD_HOME or Workspace(home=...))",
            details={"path": str(db_path)},
        ) from None
    engine = sa.create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=sa.pool.QueuePool,
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("shipyard_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: sa.URL) -> Engine:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise MissingExtra("PostgreSQL metadata", "postgres", "psycopg") from None
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


class Database:
    """An engine plus the transaction helpers services use."""

    def __init__(self, url: str, *, pooled: bool = True) -> None:
        self.url = normalize_db_url(url)
        self.backend = self.url.get_backend_name()
        if self.backend == "sqlite":
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = _postgres_engine(self.url)
        if not pooled:  # pragma: no cover - used by tools that fork
            self.engine = sa.create_engine(self.url, poolclass=NullPool)

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One short write transaction; commits on success, rolls back on error."""
        with _translate_errors(self), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot, no write lock)."""
        with (
            _translate_errors(self),
            self.engine.connect().execution_options(shipyard_readonly=True) as conn,
            conn.begin(),
        ):
            yield conn

    def errors(self) -> contextlib.AbstractContextManager[None]:
        """Translate driver connection errors into StorageError (for direct engine use)."""
        return _translate_errors(self)

    def ping(self) -> None:
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def _translate_errors(db: Database) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        if (
            "could not translate host name" in text
            or "Connection refused" in text
            or ("connection" in text and "failed" in text)
        ):
            raise StorageError(
                f"cannot reach the metadata database {db.display_url}: {text.strip()}; "
                "check that the server is running and the URL is right",
                details={"db_url": db.display_url},
            ) from None
        raise
    except NoSuchModuleError as exc:  # pragma: no cover
        raise ConfigurationError(str(exc)) from None
