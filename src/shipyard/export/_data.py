"""Rows for export work: DataFrames, numpy arrays or dataset references → inputs + labels.

Parity checks, calibration, holdout metrics and distillation all need rows shaped the
way the model takes them. :func:`load_rows` accepts a dataset reference (``"digits@2"``)
or DatasetVersion, a DataFrame, a dict of arrays (``{"X": …, "y": …}``), an ``(X, y)``
tuple or a bare array, and returns inputs shaped for the model's signature plus the
labels when the data has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import InvalidInput
from ..registry import Signature, TensorSpec
from ..store import Node
from ._errors import DataRequired

TARGET_NAMES = ("y", "label", "labels", "target", "class")
"""Column / array names taken as the label when ``target=`` is not given."""
_HELPER_COLUMNS = ("augmented",)


@dataclass
class Rows:
    """Model inputs (DataFrame or ndarray), labels if known, and where they came from."""

    X: Any
    y: np.ndarray | None
    label: str
    node: Node | None = None

    def __len__(self) -> int:
        return len(self.X)

    def take(self, index: np.ndarray | slice) -> Rows:
        X = self.X.iloc[index] if hasattr(self.X, "iloc") else self.X[index]
        y = None if self.y is None else self.y[index]
        return Rows(X, y, self.label, self.node)

    def head(self, n: int) -> Rows:
        return self.take(slice(0, min(n, len(self))))

    def sample(self, n: int, seed: int = 0) -> Rows:
        if len(self) <= n:
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False))
        return self.take(idx)

    def batch(self, size: int) -> Any:
        """The first *size* rows, repeated when there are fewer."""
        reps = -(-size // max(len(self), 1))
        if hasattr(self.X, "iloc"):
            import pandas as pd

            frame = pd.concat([self.X] * reps, ignore_index=True) if reps > 1 else self.X
            return frame.iloc[:size]
        arr = np.concatenate([self.X] * reps) if reps > 1 else self.X
        return arr[:size]


def load_rows(
    ws: Any,
    data: Any,
    signature: Signature | None,
    *,
    target: str | None = None,
    what: str = "data",
    needed_for: str = "",
) -> Rows:
    """Resolve *data* into :class:`Rows` for a model with *signature* (may be None)."""
    if data is None:
        raise DataRequired(
            f"{what} is needed{needed_for}: pass dataset= (a dataset reference like "
            "'digits@2', a DataFrame, numpy arrays or an (X, y) tuple)",
            details={"problem": "missing data"},
        )
    label, node = _describe(data)
    if isinstance(data, str) or (hasattr(data, "to_pandas") and hasattr(data, "lineage_node")):
        dv = ws.datasets.get(data) if isinstance(data, str) else data
        label, node = dv.lineage_node.label or str(data), dv.lineage_node
        arrays = dv.to_numpy()
        tensor = any(np.asarray(a).ndim >= 2 for a in arrays.values())
        data = arrays if tensor else dv.to_pandas()
    if isinstance(data, tuple) and len(data) == 2:
        X, y = data
        return Rows(_shape(_as_inputs(X, signature), signature, label), _labels(y), label, node)
    if _is_frame(data):
        return _from_frame(data, signature, target, label, node)
    if isinstance(data, dict):
        return _from_arrays(data, signature, target, label, node)
    if hasattr(data, "detach") or isinstance(data, (np.ndarray, list)):
        return Rows(_shape(_as_inputs(data, signature), signature, label), None, label, node)
    raise InvalidInput(
        f"cannot use a {type(data).__name__} as {what}: pass a dataset reference like "
        "'digits@2', a DataFrame, a dict of arrays, an (X, y) tuple or an array",
        details={"type": type(data).__name__},
    )


def _describe(data: Any) -> tuple[str, Node | None]:
    if isinstance(data, str):
        return data, None
    if _is_frame(data):
        return f"DataFrame[{data.shape[0]}x{data.shape[1]}]", None
    if isinstance(data, np.ndarray):
        return f"array{list(data.shape)}", None
    if isinstance(data, tuple) and len(data) == 2:
        return f"(X, y)[{len(data[0])} rows]", None
    if isinstance(data, dict):
        return f"arrays({', '.join(map(str, data))})", None
    return type(data).__name__, None


def _is_frame(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _labels(y: Any) -> np.ndarray | None:
    if y is None:
        return None
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    return np.asarray(y).reshape(-1)


def _as_inputs(X: Any, signature: Signature | None) -> Any:
    if hasattr(X, "detach"):
        return X.detach().cpu().numpy()
    if _is_frame(X):
        if signature is not None and signature.is_tensor:
            return X.to_numpy()
        return X
    arr = np.asarray(X)
    if signature is not None and not signature.is_tensor:
        import pandas as pd

        names = signature.column_names
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise InvalidInput(
                f"the rows have shape {arr.shape}; the model expects columns {', '.join(names)}",
                details={"problem": "shape"},
            )
        return pd.DataFrame(arr, columns=names)
    return arr


def _shape(X: Any, signature: Signature | None, label: str) -> Any:
    """Reshape flat rows to the signature's tensor shape (64 pixels → 1x8x8)."""
    if signature is None or not signature.is_tensor or not isinstance(X, np.ndarray):
        return X
    spec = signature.inputs[0]
    assert isinstance(spec, TensorSpec)
    tail = spec.shape[1:]
    if X.ndim >= 1 and tuple(X.shape[1:]) != tuple(tail) and all(d > 0 for d in tail):
        if int(np.prod(X.shape[1:])) == int(np.prod(tail)):
            X = X.reshape(len(X), *tail)
        else:
            raise InvalidInput(
                f"rows of {label} have shape {tuple(X.shape[1:])}; the model takes "
                f"{tuple(tail)} per row",
                details={"problem": "shape", "expected": list(tail)},
            )
    if X.dtype.kind in "iub" and np.dtype(spec.dtype).kind == "f":
        X = X.astype(spec.dtype)
    return X


def _from_frame(
    frame: Any, signature: Signature | None, target: str | None, label: str, node: Node | None
) -> Rows:
    cols = [str(c) for c in frame.columns]
    if target is not None and target not in cols:
        raise InvalidInput(
            f"{label} has no target column {target!r}; columns: {', '.join(cols[:20])}",
            details={"target": target},
        )
    if signature is not None and not signature.is_tensor:
        wanted = signature.column_names
        missing = [c for c in wanted if c not in cols]
        if missing:
            raise InvalidInput(
                f"{label} lacks column(s) {', '.join(missing)} that the model takes",
                details={"missing": missing},
            )
        if target is None:
            rest = [c for c in cols if c not in wanted and c not in _HELPER_COLUMNS]
            target = (
                rest[0] if len(rest) == 1 else next((c for c in rest if c in TARGET_NAMES), None)
            )
        y = _labels(frame[target]) if target else None
        return Rows(frame[wanted], y, label, node)
    if target is None:
        target = next((c for c in cols if c in TARGET_NAMES), None)
    drop = [c for c in cols if c == target or c in _HELPER_COLUMNS]
    X = frame.drop(columns=drop)
    y = _labels(frame[target]) if target else None
    if signature is not None:
        return Rows(_shape(X.to_numpy(), signature, label), y, label, node)
    return Rows(X, y, label, node)


def _from_arrays(
    arrays: dict[str, Any],
    signature: Signature | None,
    target: str | None,
    label: str,
    node: Node | None,
) -> Rows:
    keys = list(arrays)
    if target is None:
        target = next((k for k in keys if k in TARGET_NAMES), None)
    elif target not in arrays:
        raise InvalidInput(
            f"{label} has no array {target!r}; arrays: {', '.join(keys)}",
            details={"target": target},
        )
    rest = [k for k in keys if k != target and k not in _HELPER_COLUMNS]
    x_key = "X" if "X" in rest else next((k for k in rest if np.asarray(arrays[k]).ndim >= 2), None)
    if x_key is None:
        if len(rest) != 1:
            raise InvalidInput(
                f"cannot tell which array of {label} holds the inputs ({', '.join(keys)}); "
                "name it 'X' or pass an (X, y) tuple",
                details={"arrays": keys},
            )
        x_key = rest[0]
    X = _as_inputs(np.asarray(arrays[x_key]), signature)
    y = _labels(arrays[target]) if target else None
    return Rows(_shape(X, signature, label), y, label, node)


def signature_from_rows(rows: Rows) -> Signature:
    """A signature inferred from the rows (when the model version has none)."""
    return Signature.infer(rows.head(5).X)
