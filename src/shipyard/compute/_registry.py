"""Executors by name: a registry of lazy import paths (a missing extra never breaks import)."""

from __future__ import annotations

import importlib
from typing import Any

from ..core import InvalidInput, did_you_mean
from ._base import Executor

EXECUTORS: dict[str, str] = {
    "inline": "shipyard.compute._inline:InlineExecutor",
    "local": "shipyard.compute._local:LocalExecutor",
    "ray": "shipyard.compute._ray:RayExecutor",
}
"""Executor name → ``module:Class``. Third parties may add entries."""


class UnknownExecutor(InvalidInput):
    """No executor is registered under that name."""


def register_executor(name: str, path: str) -> None:
    EXECUTORS[name] = path


def get_executor(name: str | Executor = "local", **options: Any) -> Executor:
    """An executor by name (``inline``, ``local``, ``ray``) built with *options*.

    Passing an Executor returns it unchanged.
    """
    if isinstance(name, Executor):
        return name
    path = EXECUTORS.get(name) if isinstance(name, str) else None
    if path is None:
        raise UnknownExecutor(
            f"unknown executor {name!r}: {did_you_mean(list(EXECUTORS))}",
            details={"executor": name, "known": sorted(EXECUTORS)},
        )
    module, _, cls = path.partition(":")
    factory = getattr(importlib.import_module(module), cls)
    executor: Executor = factory(**options)
    return executor
