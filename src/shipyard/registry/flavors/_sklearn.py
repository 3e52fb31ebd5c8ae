"""scikit-learn estimators and pipelines (incl. ColumnTransformer), pickled."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from ._base import Flavor, LoadedModel, SavedModel, columns_to_frame, pickle_model


class SklearnFlavor(Flavor):
    name = "sklearn"
    modules = ("sklearn",)

    def matches(self, model: Any) -> bool:
        return super().matches(model) and callable(getattr(model, "predict", None))

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
        import sklearn
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        from ...core import InvalidInput

        try:
            check_is_fitted(model)
        except NotFittedError:
            raise InvalidInput(
                f"the scikit-learn model {type(model).__name__} is not fitted; call "
                "fit() before registering it",
                details={"model_type": type(model).__name__},
            ) from None
        except TypeError:
            pass  # not an estimator check_is_fitted understands
        classes = getattr(model, "classes_", None)
        meta = {
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "sklearn_version": sklearn.__version__,
            "fitted_on_frame": hasattr(model, "feature_names_in_"),
            "feature_names": [str(c) for c in getattr(model, "feature_names_in_", [])],
            "classes": [_plain(c) for c in classes] if classes is not None else None,
            "has_proba": callable(getattr(model, "predict_proba", None))
            and _proba_available(model),
        }
        return SavedModel(pickle_model(model, "scikit-learn"), meta)

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
        model = pickle.loads(data)
        on_frame = bool(meta.get("fitted_on_frame"))

        def shape(x: Any) -> Any:
            if isinstance(x, dict):
                return columns_to_frame(x) if on_frame else np.column_stack(list(x.values()))
            if isinstance(x, list) and x and isinstance(x[0], dict):
                return columns_to_frame({k: [r[k] for r in x] for k in x[0]})
            if not on_frame and hasattr(x, "columns") and hasattr(x, "to_numpy"):
                return x.to_numpy()  # fitted on arrays: names would only trigger warnings
            return x

        def predict(x: Any) -> np.ndarray:
            return np.asarray(model.predict(shape(x)))

        proba = None
        if meta.get("has_proba"):

            def proba(x: Any) -> np.ndarray:
                return np.asarray(model.predict_proba(shape(x)))

        return LoadedModel(predict, proba, meta.get("classes"), model)


def _proba_available(model: Any) -> bool:
    try:
        return callable(model.predict_proba)  # SVC(probability=False) raises AttributeError
    except AttributeError:
        return False


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
