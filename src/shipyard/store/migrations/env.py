"""Alembic environment. Shipyard passes an open connection in ``config.attributes``."""

from __future__ import annotations

from typing import Any

from alembic import context

from shipyard.store._schema import load_metadata

config = context.config
target_metadata = load_metadata()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover
    raise SystemExit("Shipyard migrations run online only")
run_migrations_online()
