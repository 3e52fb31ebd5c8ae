"""Model signatures: what a model takes and returns, inferred or declared, enforced.

A signature is either *columnar* (named columns with a dtype kind, for tabular models)
or *tensor* (one array with a dtype and a shape, ``-1`` for any size). Inputs given to
a :class:`~shipyard.registry.Predictor` are normalized to a dict of 1-D numpy columns
(columnar) or one ndarray (tensor) and checked here; pandas is only touched when the
caller passes a DataFrame.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..core import InvalidInput

# dtype kinds, coarse on purpose: float accepts ints, int refuses floats.
KINDS = ("integer", "float", "bool", "string", "datetime", "any")

Columns = dict[str, np.ndarray]


def dtype_kind(dtype: Any) -> str:
    """The coarse kind of a numpy / pandas dtype."""
    name = str(dtype).lower()
    if name in ("bool", "boolean"):
        return "bool"
    if "datetime" in name:
        return "datetime"
    if name.startswith(("int", "uint")):
        return "integer"
    if name.startswith("float"):
        return "float"
    if name in ("object", "string", "str", "category") or name.startswith(("<u", "string")):
        return "string"
    try:
        k = np.dtype(dtype).kind
    except TypeError:
        return "any"
    return {
        "b": "bool",
        "i": "integer",
        "u": "integer",
        "f": "float",
        "U": "string",
        "M": "datetime",
    }.get(k, "any")


def _accepts(expected: str, actual: str) -> bool:
    if expected == "any" or expected == actual:
        return True
    return expected == "float" and actual in ("integer", "bool")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str
    dtype: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "dtype": self.dtype or self.kind}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @functools.cached_property
    def dtype_obj(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)


@dataclass(frozen=True)
class Signature:
    """Inputs (columns or one tensor) and outputs of a model.

    ``Signature.infer(example, outputs)`` builds one from an input example;
    ``Signature.from_dict`` reads the stored form; ``Signature.columns([...])`` and
    ``Signature.tensor(dtype, shape)`` declare one by hand.
    """

    inputs: tuple[ColumnSpec, ...] | tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------------ build
    @property
    def is_tensor(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.inputs if isinstance(c, ColumnSpec)]

    @classmethod
    def columns(cls, spec: Mapping[str, str] | Sequence[tuple[str, str]]) -> Signature:
        items = list(spec.items()) if isinstance(spec, Mapping) else list(spec)
        cols = []
        for name, kind in items:
            k = kind if kind in KINDS else dtype_kind(kind)
            cols.append(ColumnSpec(str(name), k, str(kind)))
        return cls(tuple(cols))

    @classmethod
    def tensor(cls, dtype: str, shape: Sequence[int], name: str = "input") -> Signature:
        return cls((TensorSpec(name, str(np.dtype(dtype)), tuple(int(s) for s in shape)),))

    @classmethod
    def infer(cls, example: Any, outputs: Any = None) -> Signature:
        """Infer from an input example (and, optionally, the model's output on it)."""
        if _is_frame(example):
            cols: tuple[ColumnSpec, ...] | tuple[TensorSpec, ...] = tuple(
                ColumnSpec(str(c), dtype_kind(example[c].dtype), str(example[c].dtype))
                for c in example.columns
            )
        elif isinstance(example, Mapping) or (
            isinstance(example, list) and example and isinstance(example[0], Mapping)
        ):
            data = to_columns(example, None, "input example")
            cols = tuple(ColumnSpec(k, dtype_kind(v.dtype), str(v.dtype)) for k, v in data.items())
        else:
            arr = _as_array(example)
            shape = (-1, *arr.shape[1:]) if arr.ndim else ()
            cols = (TensorSpec("input", str(arr.dtype), shape),)
        outs: tuple[TensorSpec, ...] = ()
        if outputs is not None:
            outs = tuple(_output_spec(name, o) for name, o in _named_outputs(outputs))
        return cls(cols, outs)

    # ------------------------------------------------------------------ store
    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "tensor" if self.is_tensor else "columns",
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": [o.to_dict() for o in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        try:
            outs = tuple(
                TensorSpec(o["name"], o["dtype"], tuple(o["shape"]))
                for o in data.get("outputs", [])
            )
            if data.get("type") == "tensor":
                ins: tuple[ColumnSpec, ...] | tuple[TensorSpec, ...] = tuple(
                    TensorSpec(i["name"], i["dtype"], tuple(i["shape"])) for i in data["inputs"]
                )
            else:
                ins = tuple(
                    ColumnSpec(i["name"], i["kind"], i.get("dtype", "")) for i in data["inputs"]
                )
                bad = [c.kind for c in ins if c.kind not in KINDS]
                if bad:
                    raise ValueError(f"unknown column kind {bad[0]!r}; use one of {KINDS}")
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                f"invalid model signature {dict(data)!r}: {exc}; a signature looks like "
                "{'type': 'columns', 'inputs': [{'name': 'age', 'kind': 'float'}]}",
                details={"signature": dict(data)},
            ) from None
        return cls(ins, outs)

    # ------------------------------------------------------------------ enforce
    def prepare(self, data: Any, what: str) -> Any:
        """Normalize *data* and check it against the signature; raise InvalidInput.

        Returns one ndarray (tensor signatures), a dict of 1-D columns, or — when the
        caller passed a DataFrame whose dtypes already match — that DataFrame restricted
        to the signature's columns (no per-column copies).
        """
        if self.is_tensor:
            return self._prepare_tensor(data, what)
        if _is_frame(data):
            fast = self._frame_fast_path(data)
            if fast is not None:
                return fast
        cols = to_columns(data, self.column_names, what)
        out: Columns = {}
        n = None
        for spec in self.inputs:
            assert isinstance(spec, ColumnSpec)
            if spec.name not in cols:
                raise InvalidInput(
                    f"{what} is missing column {spec.name!r}; the signature expects columns "
                    f"{', '.join(self.column_names)}",
                    details={"field": spec.name, "problem": "missing"},
                )
            values = cols[spec.name]
            if values.dtype.kind == "O" and spec.kind != "any":
                _check_scalars(values, spec, what)
            actual = dtype_kind(values.dtype)
            if actual == "string" and spec.kind not in ("string", "any"):
                values = _coerce_object(values, spec, what)
                actual = dtype_kind(values.dtype)
            if not _accepts(spec.kind, actual):
                sample = values[:1].tolist()
                raise InvalidInput(
                    f"column {spec.name!r} of {what} has dtype {values.dtype} "
                    f"(values like {sample!r}); the signature expects {spec.kind}"
                    f"{f' ({spec.dtype})' if spec.dtype and spec.dtype != spec.kind else ''}",
                    details={"field": spec.name, "problem": "dtype", "expected": spec.kind},
                )
            if spec.kind == "float" and actual != "float":
                values = values.astype(np.float64)
            if n is not None and len(values) != n:
                raise InvalidInput(
                    f"column {spec.name!r} of {what} has {len(values)} values, others have {n}",
                    details={"field": spec.name, "problem": "length"},
                )
            n = len(values)
            out[spec.name] = values
        return out

    def _frame_fast_path(self, frame: Any) -> Any:
        """The frame itself if every column is present with an accepted dtype, else None
        (the column path then coerces or reports the exact problem)."""
        names = self.column_names
        dtypes = frame.dtypes
        for spec in self.inputs:
            assert isinstance(spec, ColumnSpec)
            if spec.name not in dtypes.index:
                return None
            kind = dtype_kind(dtypes[spec.name])
            if not _accepts(spec.kind, kind) or (spec.kind == "float" and kind != "float"):
                return None
        if list(frame.columns) == names:
            return frame
        return frame[names]

    def _prepare_tensor(self, data: Any, what: str) -> np.ndarray:
        spec = self.inputs[0]
        assert isinstance(spec, TensorSpec)
        if type(data) is list:
            fast = _numeric_list(data, spec)
            if fast is not None:
                return fast
        if _is_frame(data) or isinstance(data, Mapping):
            cols = to_columns(data, None, what)
            arr = np.column_stack(list(cols.values())) if cols else np.empty((0, 0))
        else:
            arr = _as_array(data)
        want = np.dtype(spec.dtype)
        if arr.dtype != want:
            if np.can_cast(arr.dtype, want, casting="same_kind") or (
                want.kind == "f" and arr.dtype.kind in "iub"
            ):
                arr = _cast_in_range(arr, want, spec, what)
            else:
                raise InvalidInput(
                    f"tensor {spec.name!r} of {what} has dtype {arr.dtype}; the signature "
                    f"expects {spec.dtype}",
                    details={"field": spec.name, "problem": "dtype", "expected": spec.dtype},
                )
        shape = spec.shape
        if len(shape) == arr.ndim + 1 and all(
            s == -1 or s == a for s, a in zip(shape[1:], arr.shape, strict=False)
        ):
            arr = arr[None, ...]  # one example without the batch axis
        if arr.ndim != len(shape) or any(
            s not in (-1, a) for s, a in zip(shape, arr.shape, strict=False)
        ):
            raise InvalidInput(
                f"tensor {spec.name!r} of {what} has shape {tuple(arr.shape)}; the signature "
                f"expects {tuple(shape)} (-1 is any size)",
                details={"field": spec.name, "problem": "shape", "expected": list(shape)},
            )
        return arr


# ---------------------------------------------------------------------- helpers
_FLOAT_OK = frozenset((float, int))
_FLOAT_MAX = {k: float(np.finfo(f"f{k}").max) for k in (2, 4, 8)}


def _numeric_list(data: list[Any], spec: TensorSpec) -> np.ndarray | None:
    """The fast path for what JSON requests carry: a small list of rows of plain numbers
    for a float tensor of rank 2, converted straight to the signature's dtype. None when
    anything is unusual; the general path then converts it or says what is wrong."""
    want = spec.dtype_obj
    shape = spec.shape
    if want.kind != "f" or len(shape) != 2 or not data:
        return None
    width = shape[1] if shape[1] != -1 else len(data[0]) if type(data[0]) is list else -1
    if len(data) * width > 65536:
        return None
    hi = _FLOAT_MAX.get(want.itemsize)
    if hi is None:
        return None
    lo = -hi
    for row in data:
        if type(row) is not list or len(row) != width or not _FLOAT_OK.issuperset(map(type, row)):
            return None
        try:
            total = math.fsum(row)  # NaN or inf anywhere makes it non-finite
        except OverflowError:
            return None
        if not math.isfinite(total) or max(row) > hi or min(row) < lo:
            return None
    return np.array(data, dtype=want)


def _is_frame(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _as_array(obj: Any) -> np.ndarray:
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # torch tensor
        return np.asarray(obj.detach().cpu().numpy())
    if _is_frame(obj):
        return np.asarray(obj.to_numpy())
    return np.asarray(obj)


def _cast_in_range(arr: np.ndarray, want: np.dtype, spec: TensorSpec, what: str) -> np.ndarray:
    """*arr* cast to *want*, refusing values the narrower type cannot hold (1e39 in
    float32 would become inf, 2**40 in int32 would wrap around)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(want)
    bad: Any = None
    if want.kind == "f" and arr.dtype.kind in "iuf" and out.size:
        lost = ~np.isfinite(out) & np.isfinite(arr)
        if lost.any():
            bad = arr[lost][0]
    elif want.kind in "iu" and arr.dtype.kind in "iu" and out.size:
        info = np.iinfo(want)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            bad = lo if lo < info.min else hi
    if bad is not None:
        raise InvalidInput(
            f"tensor {spec.name!r} of {what} holds {bad.item()!r}, beyond the range of "
            f"{spec.dtype} that the signature expects",
            details={"field": spec.name, "problem": "range", "expected": spec.dtype},
        )
    return out


def _check_scalars(values: np.ndarray, spec: ColumnSpec, what: str) -> None:
    """Refuse an object column holding objects or lists (a JSON ``{...}`` per row)."""
    for i, v in enumerate(values):
        if isinstance(v, Mapping | list | tuple | set):
            raise InvalidInput(
                f"column {spec.name!r} of {what} holds a {type(v).__name__} at row {i}; the "
                f"signature expects one {spec.kind} value per row",
                details={"field": spec.name, "problem": "dtype", "expected": spec.kind},
            )


def _coerce_object(values: np.ndarray, spec: ColumnSpec, what: str) -> np.ndarray:
    """Object columns holding numbers (JSON input) become numeric, and ISO 8601 text in a
    datetime column becomes datetimes; other text stays text."""
    if spec.kind == "datetime" and len(values) and all(isinstance(v, str) for v in values):
        return _parse_datetimes(values, spec, what)
    if values.dtype.kind != "O":
        return values
    if all(isinstance(v, bool) for v in values):
        return values.astype(bool)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return values.astype(np.int64)
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
        return values.astype(np.float64)
    return values


def _parse_datetimes(values: np.ndarray, spec: ColumnSpec, what: str) -> np.ndarray:
    """ISO 8601 text (``2024-01-05``, ``2024-01-05T10:30:00Z``, ``…+02:00``) as naive UTC
    ``datetime64`` in the signature's unit (microseconds when it names none)."""
    parsed = []
    for i, v in enumerate(values):
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            raise InvalidInput(
                f"column {spec.name!r} of {what} holds {str(v)!r} at row {i}, which is not an ISO "
                "8601 date-time; send text like 2024-01-05T10:30:00Z",
                details={"field": spec.name, "problem": "dtype", "expected": "datetime"},
            ) from None
        if d.tzinfo is not None:
            d = d.astimezone(UTC).replace(tzinfo=None)
        parsed.append(d)
    out = np.array(parsed, dtype="datetime64[us]")
    unit = spec.dtype.lower()
    if unit.startswith("datetime64[") and unit.endswith("]") and "," not in unit:
        out = out.astype(unit)
    return out


def to_columns(data: Any, names: list[str] | None, what: str) -> Columns:
    """DataFrame, dict of columns, list of records or 2-D array → dict of 1-D arrays."""
    if _is_frame(data):
        return {str(c): np.asarray(data[c].to_numpy()) for c in data.columns}
    if isinstance(data, Mapping):
        out: Columns = {}
        for k, v in data.items():
            arr = _as_array(v)
            out[str(k)] = arr.reshape(1) if arr.ndim == 0 else arr
        return out
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        keys = list(names or data[0].keys())
        missing_rows = [i for i, r in enumerate(data) if not isinstance(r, Mapping)]
        if missing_rows:
            raise InvalidInput(f"record {missing_rows[0]} of {what} is not a mapping")
        cols: Columns = {}
        for k in keys:
            if all(k in r for r in data):
                try:
                    cols[str(k)] = np.asarray([r[k] for r in data])
                except ValueError as exc:  # a list in one row, a scalar in another
                    raise InvalidInput(
                        f"column {k!r} of {what} mixes values of different shapes ({exc})",
                        details={"field": str(k), "problem": "shape"},
                    ) from None
        return cols
    arr = _as_array(data)
    if names is None:
        raise InvalidInput(
            f"{what} is an array but the model has no column signature; pass a DataFrame, "
            "a dict of columns or a list of records",
            details={"problem": "shape"},
        )
    if arr.ndim == 1 and len(names) == arr.shape[0]:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise InvalidInput(
            f"{what} has shape {tuple(arr.shape)}; the signature expects {len(names)} "
            f"columns ({', '.join(names)}) — pass (rows, {len(names)}) or named columns",
            details={"field": "input", "problem": "shape"},
        )
    return {n: arr[:, i] for i, n in enumerate(names)}


def _named_outputs(outputs: Any) -> list[tuple[str, Any]]:
    if isinstance(outputs, Mapping):
        return [(str(k), v) for k, v in outputs.items()]
    if isinstance(outputs, tuple):
        return [(f"output_{i}", o) for i, o in enumerate(outputs)]
    return [("output", outputs)]


def _output_spec(name: str, value: Any) -> TensorSpec:
    arr = _as_array(value)
    shape = (-1, *arr.shape[1:]) if arr.ndim else ()
    return TensorSpec(name, str(arr.dtype), shape)


def jsonable_example(example: Any, limit: int = 5) -> Any:
    """A small JSON form of an input example, for display and the model card."""
    if example is None:
        return None
    if (
        _is_frame(example)
        or isinstance(example, Mapping)
        or (isinstance(example, list) and example and isinstance(example[0], Mapping))
    ):
        cols = to_columns(example, None, "input example")
        return {k: _json_values(v[:limit]) for k, v in cols.items()}
    arr = _as_array(example)
    return _json_values(arr[:limit])


def _json_values(arr: np.ndarray) -> Any:
    if arr.dtype.kind == "M":
        return [str(v) for v in arr]
    if arr.dtype.kind == "O":
        return [v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for v in arr]
    return arr.tolist()
