"""LightGBM and XGBoost: native boosters as their own text/JSON formats; their
scikit-learn wrappers pickled (they keep ``classes_`` and ``predict_proba``).

Available only when the library is installed.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ._base import Flavor, LoadedModel, SavedModel, columns_to_matrix, pickle_model


class _Boosting(Flavor):
    lib = ""

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
        booster_cls = type(model).__name__ == "Booster"
        if booster_cls:
            return SavedModel(self._native(model), {"format": "native"})
        classes = getattr(model, "classes_", None)
        return SavedModel(
            pickle_model(model, self.lib),
            {
                "format": "sklearn",
                "has_proba": callable(getattr(model, "predict_proba", None)),
                "classes": [c.item() if isinstance(c, np.generic) else c for c in classes]
                if classes is not None
                else None,
            },
        )

    def _native(self, model: Any) -> bytes:
        raise NotImplementedError

    def _load_native(self, data: bytes) -> Any:
        raise NotImplementedError

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
        if meta.get("format") == "native":
            booster = self._load_native(data)
            return LoadedModel(lambda x: np.asarray(self._predict_native(booster, x)), raw=booster)
        model = pickle.loads(data)

        def to_x(x: Any) -> Any:
            return columns_to_matrix(x, np.float64) if isinstance(x, dict) else x

        proba = (
            (lambda x: np.asarray(model.predict_proba(to_x(x)))) if meta.get("has_proba") else None
        )
        return LoadedModel(
            lambda x: np.asarray(model.predict(to_x(x))), proba, meta.get("classes"), model
        )

    def _predict_native(self, booster: Any, x: Any) -> Any:
        return booster.predict(columns_to_matrix(x, np.float64))


class LightGBMFlavor(_Boosting):
    name = "lightgbm"
    modules = ("lightgbm",)
    lib = "LightGBM"

    def _native(self, model: Any) -> bytes:
        return str(model.model_to_string()).encode()

    def _load_native(self, data: bytes) -> Any:
        import lightgbm

        return lightgbm.Booster(model_str=data.decode())


class XGBoostFlavor(_Boosting):
    name = "xgboost"
    modules = ("xgboost",)
    lib = "XGBoost"

    def _native(self, model: Any) -> bytes:
        return bytes(model.save_raw(raw_format="json"))

    def _load_native(self, data: bytes) -> Any:
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return booster

    def _predict_native(self, booster: Any, x: Any) -> Any:
        import xgboost

        return booster.predict(xgboost.DMatrix(columns_to_matrix(x, np.float64)))
