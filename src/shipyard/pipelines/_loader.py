"""Loading ``FILE:PIPELINE`` (or ``module:PIPELINE``) targets for the CLI, resume, schedules."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import cloudpickle

from ..core import InvalidInput, NotFound, did_you_mean
from ._dag import Pipeline


def load_target(target: str) -> Pipeline:
    """The :class:`Pipeline` named by ``path/to/file.py:name`` or ``package.module:name``."""
    path_or_module, sep, attr = target.rpartition(":")
    if not sep or not path_or_module or not attr:
        raise InvalidInput(
            f"invalid pipeline target {target!r}: write FILE.py:PIPELINE "
            "(e.g. flows/train.py:training) or module:PIPELINE",
            details={"target": target},
        )
    if path_or_module.endswith(".py") or os.sep in path_or_module:
        path = Path(path_or_module).expanduser().resolve()
        if not path.is_file():
            raise NotFound(
                f"pipeline file {path_or_module!r} does not exist (looked at {path})",
                details={"target": target},
            )
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        mod_name = f"shipyard_pipeline_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:  # pragma: no cover
            raise InvalidInput(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        parent = str(path.parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        spec.loader.exec_module(module)
        # Workers cannot import this file by its synthetic name: ship it by value.
        cloudpickle.register_pickle_by_value(module)
        canonical = f"{path}:{attr}"
    else:
        try:
            module = importlib.import_module(path_or_module)
        except ImportError as exc:
            raise NotFound(
                f"cannot import module {path_or_module!r} for pipeline target {target!r}: {exc}",
                details={"target": target},
            ) from None
        canonical = target
    obj = getattr(module, attr, None)
    if not isinstance(obj, Pipeline):
        found = [k for k, v in vars(module).items() if isinstance(v, Pipeline)]
        raise NotFound(
            f"{path_or_module} has no pipeline {attr!r}; pipelines there: {did_you_mean(found)}",
            details={"target": target},
        )
    obj.target = canonical
    return obj


def target_of(p: Pipeline) -> str | None:
    if p.target:
        return p.target
    module = getattr(p.fn, "__module__", None)
    if module and module != "__main__" and not module.startswith("shipyard_pipeline_"):
        mod: Any = sys.modules.get(module)
        if mod is not None and getattr(mod, p.fn.__name__, None) is p:
            return f"{module}:{p.fn.__name__}"
    if module == "__main__":
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        if main_file:
            return f"{Path(main_file).resolve()}:{p.fn.__name__}"
    return None


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``["k=v", …]`` → dict; values are JSON when they parse, else strings."""
    import json

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"invalid parameter {item!r}: write --param name=value")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out
