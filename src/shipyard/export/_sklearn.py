"""scikit-learn (and LightGBM / XGBoost) → ONNX with skl2onnx.

Inputs are typed from the signature: a model with a ColumnTransformer (or mixed column
types) gets one ONNX input per column (float, int64 or string, shape ``[N, 1]``) so that
the transformer selects columns by name; an all-numeric model gets one float matrix.
Classifiers output ``label`` and a ``probabilities`` matrix (no ZipMap), in the order
of ``classes_``. LightGBM and XGBoost estimators, alone or inside pipelines, convert
through onnxmltools when it is installed.
"""

from __future__ import annotations

import re
from typing import Any

from ..registry import ColumnSpec, Signature, TensorSpec
from ._errors import UnsupportedModel

_TYPE_RE = re.compile(r"<class '([^']+)'>")
_boosting_registered = False


def convert(model: Any, signature: Signature, opset: int | None, what: str) -> tuple[Any, str]:
    """The ONNX ModelProto for a fitted estimator and a converter description."""
    import skl2onnx
    from skl2onnx import convert_sklearn

    _register_boosting()
    initial = initial_types(model, signature)
    options = {id(c): {"zipmap": False} for c in _classifiers(model)}
    target: Any = opset
    if any(type(m).__module__.split(".")[0] in ("lightgbm", "xgboost") for m in _walk(model)):
        from skl2onnx import get_latest_tested_opset_version

        # onnxmltools' converters write ai.onnx.ml 3 at most
        target = {"": opset or get_latest_tested_opset_version(), "ai.onnx.ml": 3}
    try:
        onx = convert_sklearn(model, initial_types=initial, target_opset=target, options=options)
    except Exception as exc:
        raise _translate(exc, model, what) from None
    return onx, f"skl2onnx {skl2onnx.__version__}"


def initial_types(model: Any, signature: Signature) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import (
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    if signature.is_tensor:
        spec = signature.inputs[0]
        assert isinstance(spec, TensorSpec)
        dims = [None, *[d if d > 0 else None for d in spec.shape[1:]]]
        return [("input", FloatTensorType(dims))]
    cols = [c for c in signature.inputs if isinstance(c, ColumnSpec)]
    numeric = all(c.kind in ("float", "integer", "bool") for c in cols)
    if numeric and not _has_column_transformer(model):
        return [("input", FloatTensorType([None, len(cols)]))]
    categorical = _encoded_columns(model)
    types: list[tuple[str, Any]] = []
    for c in cols:
        if c.kind == "float" or (c.kind in ("integer", "bool") and c.name not in categorical):
            # numeric transformers (imputers, scalers) convert float tensors only
            types.append((c.name, FloatTensorType([None, 1])))
        elif c.kind in ("integer", "bool"):
            types.append((c.name, Int64TensorType([None, 1])))
        elif c.kind == "string":
            types.append((c.name, StringTensorType([None, 1])))
        else:
            raise UnsupportedModel(
                f"column {c.name!r} has kind {c.kind!r}, which ONNX inputs cannot carry; "
                "convert it to a number or a string before the model (e.g. a timestamp "
                "to seconds) and register the model again",
                details={"column": c.name, "kind": c.kind},
            )
    return types


def _walk(model: Any) -> list[Any]:
    out = [model]
    for attr in ("steps", "transformer_list"):
        for _, sub in getattr(model, attr, None) or []:
            out += _walk(sub)
    for _, sub, *_ in getattr(model, "transformers", None) or []:
        if not isinstance(sub, str):
            out += _walk(sub)
    return out


_ENCODERS = ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder", "LabelEncoder")


def _encoded_columns(model: Any) -> set[str]:
    """Columns a ColumnTransformer sends to a categorical encoder (integers stay int64)."""
    out: set[str] = set()
    for m in _walk(model):
        for _, trans, columns in getattr(m, "transformers", None) or []:
            if isinstance(trans, str) or isinstance(columns, slice):
                continue
            if any(type(t).__name__ in _ENCODERS for t in _walk(trans)):
                names = [columns] if isinstance(columns, str) else list(columns)
                out.update(str(c) for c in names)
    return out


def _has_column_transformer(model: Any) -> bool:
    return any(type(m).__name__ == "ColumnTransformer" for m in _walk(model))


def _classifiers(model: Any) -> list[Any]:
    return [m for m in _walk(model) if hasattr(m, "classes_") and hasattr(m, "predict_proba")]


def _translate(exc: Exception, model: Any, what: str) -> Exception:
    text = str(exc)
    m = _TYPE_RE.search(text)
    if type(exc).__name__ in ("MissingShapeCalculator", "MissingConverter") or (
        m and "Unable to find" in text
    ):
        name = m.group(1) if m else type(model).__name__
        short = name.rsplit(".", 1)[-1]
        return UnsupportedModel(
            f"cannot export {what} to ONNX: skl2onnx has no converter for {short} ({name}); "
            f"replace {short} with a supported estimator, or register a converter with "
            "skl2onnx.update_registered_converter() before exporting",
            details={"estimator": name},
        )
    return UnsupportedModel(
        f"cannot export {what} to ONNX: skl2onnx failed with {type(exc).__name__}: "
        f"{text.strip()[:400]}",
        details={"estimator": type(model).__name__},
    )


def _register_boosting() -> None:
    """Teach skl2onnx LightGBM / XGBoost estimators (inside pipelines too) via onnxmltools."""
    global _boosting_registered
    if _boosting_registered:
        return
    _boosting_registered = True
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
    except ImportError:  # pragma: no cover - skl2onnx is a dependency
        return
    zipmap = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        import lightgbm
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(
            lightgbm.LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=zipmap,
        )
        update_registered_converter(
            lightgbm.LGBMRegressor,
            "LightGbmLGBMRegressor",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )
    except ImportError:
        pass
    try:
        import xgboost
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

        update_registered_converter(
            xgboost.XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=zipmap,
        )
        update_registered_converter(
            xgboost.XGBRegressor,
            "XGBoostXGBRegressor",
            calculate_linear_regressor_output_shapes,
            convert_xgboost,
        )
    except ImportError:
        pass


def convert_booster(
    model: Any, signature: Signature, opset: int | None, what: str
) -> tuple[Any, str]:
    """A native LightGBM/XGBoost Booster (not a scikit-learn wrapper), via onnxmltools."""
    try:
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType
    except ImportError:
        from ..core import MissingExtra

        raise MissingExtra(
            "exporting LightGBM/XGBoost boosters to ONNX", "export", "onnxmltools"
        ) from None
    n = _n_features(signature)
    initial = [("input", FloatTensorType([None, n]))]
    lib = type(model).__module__.split(".")[0]
    try:
        if lib == "lightgbm":
            onx = onnxmltools.convert_lightgbm(
                model, initial_types=initial, target_opset=opset, zipmap=False
            )
        else:
            onx = onnxmltools.convert_xgboost(model, initial_types=initial, target_opset=opset)
    except Exception as exc:
        raise UnsupportedModel(
            f"cannot export {what} ({lib} booster) to ONNX: {type(exc).__name__}: {str(exc)[:300]}",
            details={"estimator": type(model).__name__},
        ) from None
    return onx, f"onnxmltools {onnxmltools.__version__}"


def _n_features(signature: Signature) -> int:
    if signature.is_tensor:
        spec = signature.inputs[0]
        assert isinstance(spec, TensorSpec)
        return int(spec.shape[-1])
    return len(signature.inputs)
