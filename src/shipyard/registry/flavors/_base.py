"""The flavor contract.

A :class:`Flavor` turns a live model object into bytes plus a small JSON ``meta``
(:meth:`Flavor.save`) and back into a :class:`LoadedModel` (:meth:`Flavor.load`). The
bytes go to the content-addressed blob store; ``meta`` is stored with the version.

``LoadedModel.predict`` receives inputs already normalized by the signature: a dict of
1-D numpy columns (columnar signatures) or one ndarray (tensor signatures), or the
caller's object unchanged when the version has no signature. It returns an ndarray.
``predict_proba`` is ``None`` when the flavor cannot give class probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...core import InvalidInput


@dataclass
class SavedModel:
    data: bytes
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadedModel:
    predict: Callable[[Any], np.ndarray]
    predict_proba: Callable[[Any], np.ndarray] | None = None
    classes: list[Any] | None = None
    raw: Any = None


class Flavor:
    """Save, load and call one kind of model. Subclasses set ``name`` and ``modules``."""

    name: ClassVar[str] = ""
    modules: ClassVar[tuple[str, ...]] = ()
    """Top-level packages whose classes this flavor handles (checked over the MRO)."""
    extra: ClassVar[str | None] = None

    def matches(self, model: Any) -> bool:
        return any((c.__module__ or "").split(".")[0] in self.modules for c in type(model).__mro__)

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
        raise NotImplementedError

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
        raise NotImplementedError

    def default_signature(self, meta: dict[str, Any]) -> dict[str, Any] | None:
        """A signature the saved model declares itself (ONNX graphs do), else None."""
        return None


def columns_to_frame(data: Any) -> Any:
    """For libraries that need a DataFrame (named-column sklearn pipelines)."""
    if isinstance(data, dict):
        import pandas as pd

        return pd.DataFrame(data, copy=False)
    return data


def columns_to_matrix(data: Any, dtype: Any = np.float32) -> np.ndarray:
    if isinstance(data, dict):
        cols = list(data.values())
        if not cols:
            raise InvalidInput("the input has no columns")
        try:
            return np.column_stack([np.asarray(c, dtype=dtype) for c in cols])
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"cannot convert the input columns to {np.dtype(dtype)}: {exc}"
            ) from None
    if type(data).__module__.startswith("pandas"):
        return np.asarray(data.to_numpy(), dtype=dtype)
    return np.asarray(data, dtype=dtype)


def pickle_model(model: Any, what: str) -> bytes:
    """cloudpickle with a clear error for models that cannot be serialized."""
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps(model))
    except Exception as exc:
        raise InvalidInput(
            f"cannot serialize the {what} model ({type(model).__name__}): "
            f"{type(exc).__name__}: {exc}; remove unpicklable state (open files, locks, "
            "connections, generators) from the model or register it as ONNX/TorchScript",
            details={"model_type": f"{type(model).__module__}.{type(model).__qualname__}"},
        ) from None
