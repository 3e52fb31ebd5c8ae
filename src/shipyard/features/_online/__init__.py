"""Online store backends, chosen by name from a registry (lazy imports)."""

from __future__ import annotations

import importlib
from typing import Any

from ...core import ConfigurationError
from ._base import Found, OnlineStore, Record

BACKENDS: dict[str, str] = {
    "sqlite": "shipyard.features._online._sqlite:SQLiteOnlineStore",
    "redis": "shipyard.features._online._redis:RedisOnlineStore",
    "postgres": "shipyard.features._online._postgres:PostgresOnlineStore",
}
"""Backend name → ``module:Class``. Add an entry to plug in another store."""


def default_url(name: str, settings: Any) -> str:
    """Where a backend lives when ``online_store_url`` is not set."""
    if settings.online_store_url:
        return str(settings.online_store_url)
    if name == "sqlite":
        return str(settings.home / "online.db")
    if name == "redis":
        return str(settings.redis_url)
    if name == "postgres":
        if settings.db_backend in ("postgresql", "postgres"):
            return str(settings.db_url)
        raise ConfigurationError(
            "online_store='postgres' needs a PostgreSQL URL: set online_store_url "
            "(SHIPYARD_ONLINE_STORE_URL) or use a PostgreSQL metadata database",
        )
    return ""


def open_online_store(name: str, url: str) -> OnlineStore:
    target = BACKENDS.get(name)
    if target is None:
        raise ConfigurationError(
            f"unknown online store {name!r}; choose one of {', '.join(sorted(BACKENDS))} "
            "(Settings.online_store / SHIPYARD_ONLINE_STORE)",
            details={"online_store": name},
        )
    module, _, cls = target.partition(":")
    store: OnlineStore = getattr(importlib.import_module(module), cls)(url)
    return store


__all__ = ["BACKENDS", "Found", "OnlineStore", "Record", "default_url", "open_online_store"]
