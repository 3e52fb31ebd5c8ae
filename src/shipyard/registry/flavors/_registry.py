"""The flavor registry: names → lazy import paths, detection in registration order."""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ...core import InvalidInput, MissingExtra
from ._base import Flavor

_FLAVORS: dict[str, str | type[Flavor]] = {
    "onnx": "shipyard.registry.flavors._onnx:OnnxFlavor",
    "pytorch": "shipyard.registry.flavors._pytorch:PyTorchFlavor",
    "lightgbm": "shipyard.registry.flavors._boosting:LightGBMFlavor",
    "xgboost": "shipyard.registry.flavors._boosting:XGBoostFlavor",
    "sklearn": "shipyard.registry.flavors._sklearn:SklearnFlavor",
    "pyfunc": "shipyard.registry.flavors._pyfunc:PyFuncFlavor",
}
"""Detection order: specific flavors first, the generic Python function last."""

_MODULES: dict[str, tuple[str, ...]] = {
    "onnx": ("onnx",),
    "pytorch": ("torch",),
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost",),
    "sklearn": ("sklearn",),
}
_EXTRAS = {"pytorch": "torch"}
_lock = threading.Lock()
_instances: dict[str, Flavor] = {}


def register_flavor(name: str, flavor: type[Flavor] | str, *, first: bool = True) -> None:
    """Add (or replace) a flavor; *flavor* is a class or ``"module:Class"``.

    New flavors are tried before the built-in ones during detection (``first=True``).
    """
    with _lock:
        _FLAVORS.pop(name, None)
        _instances.pop(name, None)
        if first:
            items = list(_FLAVORS.items())
            _FLAVORS.clear()
            _FLAVORS[name] = flavor
            _FLAVORS.update(items)
        else:
            _FLAVORS[name] = flavor


def available_flavors() -> list[str]:
    return list(_FLAVORS)


def get_flavor(name: str) -> Flavor:
    with _lock:
        if name in _instances:
            return _instances[name]
        target = _FLAVORS.get(name)
    if target is None:
        raise InvalidInput(
            f"unknown model flavor {name!r}; known flavors: {', '.join(_FLAVORS)}",
            details={"flavor": name},
        )
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            extra = _EXTRAS.get(name, name)
            raise MissingExtra(f"the {name} model flavor", extra, exc.name or name) from None
    else:
        cls = target
    inst: Flavor = cls()
    with _lock:
        _instances[name] = inst
    return inst


def detect_flavor(model: Any) -> Flavor:
    """The first flavor that claims *model*; cheap: checks class modules before importing."""
    mro_modules = {(c.__module__ or "").split(".")[0] for c in type(model).__mro__}
    for name in list(_FLAVORS):
        known = _MODULES.get(name)
        if known is not None and not (mro_modules & set(known)):
            continue
        flavor = get_flavor(name)
        if flavor.matches(model):
            return flavor
    raise InvalidInput(
        f"cannot register a {type(model).__module__}.{type(model).__qualname__}: no model "
        f"flavor handles it (flavors: {', '.join(_FLAVORS)}); pass an object with a "
        "predict() method, a callable, or register a flavor with register_flavor()",
        details={"model_type": type(model).__qualname__},
    )
