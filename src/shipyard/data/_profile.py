"""Table profiles: the column statistics stored with every tabular dataset version.

A profile is the *reference* that monitoring compares live traffic against (KS,
chi-square, Wasserstein, Jensen-Shannon, PSI) and that the feature store reuses, so it
is a plain, JSON-serializable structure with a version number (``format``):

.. code-block:: json

    {"format": 1, "row_count": 1000,
     "columns": {
       "tenure_months": {"name": "tenure_months", "type": "int64", "kind": "numeric",
         "count": 990, "null_count": 10, "distinct": 72,
         "min": 0, "max": 72, "mean": 31.2, "std": 20.1,
         "quantiles": {"0.01": 0.0, "0.05": 1.0, "0.25": 12.0, "0.5": 29.0, ...},
         "histogram": {"edges": [0.0, 3.6, ...], "counts": [80, 61, ...]},
         "top": null},
       "plan": {"name": "plan", "type": "string", "kind": "categorical",
         "count": 1000, "null_count": 0, "distinct": 3,
         "top": {"values": ["basic", "plus", "pro"], "counts": [520, 330, 150],
                 "other": 0}}}}

* ``kind`` is ``numeric``, ``categorical``, ``boolean``, ``datetime`` or ``other``.
* ``count`` counts non-null values; ``null_count + count == row_count``.
* ``distinct`` is an estimate (HyperLogLog) for large columns.
* ``histogram`` (numeric only): ``len(edges) == len(counts) + 1``, equal-width bins
  over ``[min, max]``; the last bin is closed. NaN and infinities are not counted.
* ``top`` (categorical and boolean, and numeric columns with at most ``top_k``
  distinct values): the ``top_k`` most frequent values, most frequent first; ``other``
  counts the non-null values outside them.
* ``quantiles`` are keyed by the probability as a string.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InvalidInput

PROFILE_FORMAT = 1
QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
DEFAULT_BINS = 20
DEFAULT_TOP_K = 20


@dataclass(frozen=True)
class Histogram:
    edges: list[float]
    counts: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "counts": list(self.counts)}


@dataclass(frozen=True)
class TopValues:
    values: list[Any]
    counts: list[int]
    other: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "counts": list(self.counts), "other": self.other}

    def frequencies(self) -> dict[Any, float]:
        total = sum(self.counts) + self.other
        return (
            {v: c / total for v, c in zip(self.values, self.counts, strict=True)} if total else {}
        )


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    type: str
    kind: str
    count: int
    null_count: int
    distinct: int | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] | None = None
    histogram: Histogram | None = None
    top: TopValues | None = None

    @property
    def null_fraction(self) -> float:
        total = self.count + self.null_count
        return self.null_count / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "count": self.count,
            "null_count": self.null_count,
            "distinct": self.distinct,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "quantiles": self.quantiles,
            "histogram": self.histogram.to_dict() if self.histogram else None,
            "top": self.top.to_dict() if self.top else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnProfile:
        h = d.get("histogram")
        t = d.get("top")
        return cls(
            name=d["name"],
            type=d["type"],
            kind=d["kind"],
            count=int(d["count"]),
            null_count=int(d["null_count"]),
            distinct=d.get("distinct"),
            min=d.get("min"),
            max=d.get("max"),
            mean=d.get("mean"),
            std=d.get("std"),
            quantiles=d.get("quantiles"),
            histogram=Histogram(list(h["edges"]), [int(c) for c in h["counts"]]) if h else None,
            top=TopValues(list(t["values"]), [int(c) for c in t["counts"]], int(t.get("other", 0)))
            if t
            else None,
        )


@dataclass(frozen=True)
class TableProfile:
    """Statistics of a whole table; ``profile["col"]`` is a :class:`ColumnProfile`."""

    row_count: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise InvalidInput(
                f"no column {name!r} in this profile; columns: {', '.join(self.columns)}",
                details={"column": name},
            ) from None

    def __iter__(self) -> Any:
        return iter(self.columns.values())

    def __len__(self) -> int:
        return len(self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "row_count": self.row_count,
            "columns": {n: c.to_dict() for n, c in self.columns.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableProfile:
        fmt = d.get("format", PROFILE_FORMAT)
        if fmt > PROFILE_FORMAT:
            raise InvalidInput(
                f"profile format {fmt} is newer than this Shipyard understands "
                f"({PROFILE_FORMAT}); upgrade Shipyard"
            )
        return cls(
            int(d["row_count"]),
            {n: ColumnProfile.from_dict(c) for n, c in d["columns"].items()},
        )

    @classmethod
    def from_json(cls, text: str) -> TableProfile:
        return cls.from_dict(json.loads(text))


# ---------------------------------------------------------------------------- compute
def as_arrow_table(data: Any) -> pa.Table:
    """An Arrow table from a pandas/polars DataFrame, an Arrow table or record batches."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return pa.Table.from_pandas(data, preserve_index=False)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(data, "to_arrow"):  # polars, duckdb relations
        out = data.to_arrow()
        if isinstance(out, pa.RecordBatchReader):
            out = out.read_all()
        return out
    if hasattr(data, "arrow"):
        out = data.arrow()
        return out.read_all() if isinstance(out, pa.RecordBatchReader) else out
    raise InvalidInput(
        f"cannot profile a {type(data).__name__}: pass a pandas or polars DataFrame or a "
        "pyarrow Table",
        details={"type": type(data).__name__},
    )


def _kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return "categorical"
    if pa.types.is_string_view(t):
        return "categorical"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return "other"


def jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return v if isinstance(v, str) else str(v)


def profile_table(
    data: Any,
    *,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    quantiles: tuple[float, ...] = QUANTILES,
) -> TableProfile:
    """Compute the :class:`TableProfile` of a table (Arrow, pandas or polars).

    Columns are profiled in parallel threads. Numeric columns are sorted once (numpy
    releases the GIL), which gives exact quantiles, the histogram and the distinct
    count; categorical columns use Arrow's ``value_counts``. Everything is exact.
    """
    table = as_arrow_table(data)
    if bins < 1 or top_k < 1:
        raise InvalidInput("profile_table needs bins >= 1 and top_k >= 1")
    n_rows = table.num_rows
    names = table.column_names
    jobs = [(name, table.column(i)) for i, name in enumerate(names)]

    def one(job: tuple[str, pa.ChunkedArray]) -> ColumnProfile:
        name, col = job
        return _profile_column(name, col, n_rows, bins, top_k, quantiles)

    if len(jobs) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(len(jobs), max(2, os.cpu_count() or 2))) as pool:
            profiles = list(pool.map(one, jobs))
    else:
        profiles = [one(j) for j in jobs]
    return TableProfile(n_rows, {p.name: p for p in profiles})


def _profile_column(
    name: str,
    col: pa.ChunkedArray,
    n_rows: int,
    bins: int,
    top_k: int,
    quantiles: tuple[float, ...],
) -> ColumnProfile:
    type_name = str(col.type)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    kind = _kind(col.type)
    count = len(col) - col.null_count
    base: dict[str, Any] = {
        "name": name,
        "type": type_name,
        "kind": kind,
        "count": count,
        "null_count": n_rows - count,
    }
    if count == 0 or kind == "other":
        return ColumnProfile(**base)
    if kind in ("categorical", "boolean"):
        return ColumnProfile(**base, **_frequencies(col, top_k, with_range=kind == "categorical"))
    if kind == "datetime":
        values = pc.drop_null(col)
        mm = pc.min_max(values).as_py()
        ints = np.sort(values.cast(pa.int64()).to_numpy()) if len(values) else np.empty(0)
        distinct = int(np.count_nonzero(np.diff(ints)) + 1) if ints.size else 0
        return ColumnProfile(
            **base, distinct=distinct, min=jsonable(mm["min"]), max=jsonable(mm["max"])
        )
    # numeric
    values = pc.drop_null(col)
    if pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())
    arr = np.sort(np.asarray(values.to_numpy(), dtype=np.float64))
    # sorted: -inf first, +inf then NaN last; only filter when they are there
    finite = arr if np.isfinite(arr[0]) and np.isfinite(arr[-1]) else arr[np.isfinite(arr)]
    if finite.size == 0:
        return ColumnProfile(**base, distinct=int(np.unique(arr).size))
    distinct = int(np.count_nonzero(np.diff(finite)) + 1)
    lo, hi = float(finite[0]), float(finite[-1])
    qs = {
        str(q): jsonable(v) for q, v in zip(quantiles, np.quantile(finite, quantiles), strict=True)
    }
    out = ColumnProfile(
        **base,
        distinct=distinct,
        min=jsonable(lo),
        max=jsonable(hi),
        mean=jsonable(finite.mean()),
        std=jsonable(finite.std(ddof=1)) if finite.size > 1 else None,
        quantiles=qs,
        histogram=_histogram_sorted(finite, lo, hi, bins),
    )
    if distinct <= top_k:
        freq = _frequencies(col, top_k, with_range=False)
        out = ColumnProfile(**{**out.__dict__, "top": freq["top"]})
    return out


def _frequencies(col: pa.ChunkedArray, top_k: int, *, with_range: bool) -> dict[str, Any]:
    vc = pc.value_counts(pc.drop_null(col))
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_numpy()
    # most frequent first; ties by value, so the profile is deterministic
    order = sorted(range(len(values)), key=lambda i: (-int(counts[i]), _sort_key(values[i])))
    chosen = order[:top_k]
    total = int(counts.sum())
    shown = [int(counts[i]) for i in chosen]
    out: dict[str, Any] = {
        "distinct": len(values),
        "top": TopValues([jsonable(values[i]) for i in chosen], shown, total - sum(shown)),
    }
    if with_range and values:
        ordered = sorted(values, key=_sort_key)
        out["min"], out["max"] = jsonable(ordered[0]), jsonable(ordered[-1])
    return out


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float | bool) else (1, str(v))


def _histogram_sorted(arr: np.ndarray, lo: float, hi: float, bins: int) -> Histogram:
    """Equal-width histogram of sorted finite values; the last bin is closed."""
    if hi <= lo:
        return Histogram(
            [lo, lo + 1.0 if lo == 0 else lo + abs(lo) * 1e-9 + 1e-12], [int(arr.size)]
        )
    edges = np.linspace(lo, hi, bins + 1)
    pos = np.searchsorted(arr, edges[1:-1], side="left")
    bounds = np.concatenate([[0], pos, [arr.size]])
    return Histogram([float(e) for e in edges], [int(c) for c in np.diff(bounds)])
