"""A generic Python model: any object with ``predict`` (and maybe ``predict_proba``), or a
plain callable. Pickled with cloudpickle, so closures and lambdas work.

With a column signature the function receives a dict of 1-D numpy columns (DataFrames
are split into columns too); with a tensor signature, one ndarray; without a signature,
what the caller passed.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ._base import Flavor, LoadedModel, SavedModel, pickle_model


class PyFuncFlavor(Flavor):
    name = "pyfunc"

    def matches(self, model: Any) -> bool:
        return callable(getattr(model, "predict", None)) or callable(model)

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
        has_predict = callable(getattr(model, "predict", None))
        meta = {
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "has_predict": has_predict,
            "has_proba": callable(getattr(model, "predict_proba", None)),
            "classes": _classes(model),
        }
        return SavedModel(pickle_model(model, "Python function"), meta)

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
        model = pickle.loads(data)
        fn = model.predict if meta.get("has_predict") else model

        def predict(x: Any) -> np.ndarray:
            return np.asarray(fn(_columns(x)))

        proba = None
        if meta.get("has_proba"):

            def proba(x: Any) -> np.ndarray:
                return np.asarray(model.predict_proba(_columns(x)))

        return LoadedModel(predict, proba, meta.get("classes"), model)


def _columns(x: Any) -> Any:
    """A DataFrame that passed a column signature reaches the function as a dict of columns."""
    if hasattr(x, "columns") and type(x).__module__.startswith("pandas"):
        return {str(c): x[c].to_numpy() for c in x.columns}
    return x


def _classes(model: Any) -> list[Any] | None:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    return [c.item() if isinstance(c, np.generic) else c for c in classes]
