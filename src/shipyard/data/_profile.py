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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def profile_table(
    data: Any,
    *,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    quantiles: tuple[float, ...] = QUANTILES,
) -> TableProfile:
    """Compute the :class:`TableProfile` of a table (Arrow, pandas or polars).

    Aggregates run in one DuckDB query over the Arrow data (no copy); histograms are
    computed with numpy on the non-null values.
    """
    import duckdb

    table = as_arrow_table(data)
    if bins < 1 or top_k < 1:
        raise InvalidInput("profile_table needs bins >= 1 and top_k >= 1")
    # DuckDB cannot scan dictionary-encoded or exotic columns everywhere: decode them.
    cols: dict[str, pa.ChunkedArray] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        cols[name] = col
    n_rows = table.num_rows
    kinds = {n: _kind(c.type) for n, c in cols.items()}
    scan = pa.table({f"c{i}": c for i, c in enumerate(cols.values())})
    names = list(cols)
    con = duckdb.connect(config={"threads": 4})
    try:
        con.register("t", scan)
        exprs: list[str] = []
        layout: list[tuple[str, str]] = []
        qlist = "[" + ", ".join(repr(q) for q in quantiles) + "]"
        for i, name in enumerate(names):
            c = f"c{i}"
            k = kinds[name]
            exprs.append(f"count({c})")
            layout.append((name, "count"))
            if k in ("numeric", "categorical", "boolean", "datetime"):
                exprs.append(f"approx_count_distinct({c})")
                layout.append((name, "distinct"))
            if k == "numeric":
                d = f"{c}::DOUBLE"
                fin = f"CASE WHEN isfinite({d}) THEN {d} END"
                exprs += [
                    f"min({fin})",
                    f"max({fin})",
                    f"avg({fin})",
                    f"stddev_samp({fin})",
                    f"approx_quantile({fin}, {qlist})",
                ]
                layout += [(name, s) for s in ("min", "max", "mean", "std", "quantiles")]
            elif k in ("datetime", "categorical"):
                exprs += [f"min({c})", f"max({c})"]
                layout += [(name, "min"), (name, "max")]
        row = con.execute(f"SELECT {', '.join(exprs)} FROM t").fetchone() if exprs else ()
        agg: dict[str, dict[str, Any]] = {n: {} for n in names}
        for (name, stat), value in zip(layout, row or (), strict=True):
            agg[name][stat] = value

        out: dict[str, ColumnProfile] = {}
        for i, name in enumerate(names):
            c = f"c{i}"
            k = kinds[name]
            a = agg[name]
            count = int(a.get("count", 0))
            distinct = a.get("distinct")
            distinct = min(int(distinct), count) if distinct is not None else None
            hist = None
            top = None
            qs = None
            if k == "numeric" and count:
                lo, hi = a.get("min"), a.get("max")
                if lo is not None and hi is not None:
                    hist = _histogram(cols[name], float(lo), float(hi), bins)
                if a.get("quantiles") is not None:
                    qs = {
                        str(p): jsonable(v) for p, v in zip(quantiles, a["quantiles"], strict=True)
                    }
            if count and (
                k in ("categorical", "boolean")
                or (k == "numeric" and distinct is not None and distinct <= top_k)
            ):
                rows = con.execute(
                    f"SELECT {c} AS v, count(*) AS n FROM t WHERE {c} IS NOT NULL "
                    f"GROUP BY {c} ORDER BY n DESC, v LIMIT {int(top_k)}"
                ).fetchall()
                shown = sum(int(r[1]) for r in rows)
                top = TopValues(
                    [jsonable(r[0]) for r in rows], [int(r[1]) for r in rows], count - shown
                )
                if k != "numeric" and len(rows) < top_k:
                    distinct = len(rows)  # exact when every value is listed
            out[name] = ColumnProfile(
                name=name,
                type=str(table.schema.field(name).type),
                kind=k,
                count=count,
                null_count=n_rows - count,
                distinct=distinct,
                min=jsonable(a.get("min")),
                max=jsonable(a.get("max")),
                mean=jsonable(a.get("mean")),
                std=jsonable(a.get("std")),
                quantiles=qs,
                histogram=hist,
                top=top,
            )
    finally:
        con.close()
    return TableProfile(n_rows, out)


def _histogram(col: pa.ChunkedArray, lo: float, hi: float, bins: int) -> Histogram:
    values = pc.drop_null(col)
    if pa.types.is_decimal(values.type):
        values = values.cast(pa.float64())
    arr = np.asarray(values.to_numpy(), dtype=np.float64) if len(values) else np.empty(0)
    if arr.size:
        arr = arr[np.isfinite(arr)]
    if hi <= lo:
        hi = lo + 1.0 if lo == 0 else lo + abs(lo) * 1e-9 + 1e-12
        # one bin holds everything: a constant column
        counts, edges = np.histogram(arr, bins=1, range=(lo, hi))
    else:
        counts, edges = np.histogram(arr, bins=bins, range=(lo, hi))
    return Histogram([float(e) for e in edges], [int(c) for c in counts])
