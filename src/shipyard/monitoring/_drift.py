"""Drift: reference statistics computed once, and per-column tests on a current window.

Reference statistics (:class:`ReferenceStats`) are a JSON-serializable sketch of the
reference table, stored once per monitor:

* numeric columns: count, distinct, std, a 1,001-point quantile grid (the quantile
  function, for Wasserstein and approximate KS), PSI bins (reference deciles) with
  their counts, the profile histogram (for charts), the sorted values themselves when
  the reference has at most 1,000 rows (exact KS), and the value counts when the
  column has at most 20 distinct values;
* categorical and boolean columns: the value counts of the 200 most frequent values
  plus an ``other`` count.

A check reads only the current window: per numeric column one sort; per categorical
column one ``value_counts``. Columns run in parallel threads (numpy and Arrow release
the GIL).

Test choice follows the usual rules: a reference of at most 1,000 rows gets
Kolmogorov-Smirnov for numeric columns with more than 5 distinct values, a Z-test for
binary columns and chi-square for categorical and low-cardinality numeric ones; a larger
reference gets the normalized Wasserstein distance for numeric columns and the
Jensen-Shannon distance for the others. PSI is computed for every column.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InvalidInput

SMALL_REFERENCE = 1000
N_QUANTILES = 1001
PSI_BINS = 10
MAX_CATEGORIES = 200
LOW_CARDINALITY = 20
PSI_EPS = 1e-4

TESTS = ("ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi")
P_VALUE_TESTS = {"ks", "chisquare", "z"}
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.2,
}
_U = np.linspace(0.0, 1.0, N_QUANTILES)


def _key(value: Any, numeric: bool) -> str:
    if numeric and not isinstance(value, bool):
        f = float(value)
        return repr(int(f)) if f.is_integer() else repr(f)
    return str(value)


def _kind(t: pa.DataType) -> str | None:
    if pa.types.is_boolean(t):
        return "categorical"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_dictionary(t)
        or pa.types.is_string_view(t)
    ):
        return "categorical"
    return None


def numeric_values(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Finite float64 values of a numeric column (nulls, NaN and infinities dropped)."""
    if col.null_count:
        col = pc.drop_null(col)
    if pa.types.is_decimal(col.type) or pa.types.is_boolean(col.type):
        col = col.cast(pa.float64())
    if isinstance(col, pa.ChunkedArray):
        arr = col.to_numpy() if col.num_chunks != 1 else col.chunk(0).to_numpy(zero_copy_only=False)
    else:
        arr = col.to_numpy(zero_copy_only=False)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size and not np.isfinite(arr).all():
        arr = arr[np.isfinite(arr)]
    return arr


def value_counts(col: pa.ChunkedArray | pa.Array, numeric: bool) -> dict[str, int]:
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    vc = pc.value_counts(pc.drop_null(col) if col.null_count else col)
    out: dict[str, int] = {}
    for v, c in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True):
        if numeric and isinstance(v, float) and not math.isfinite(v):
            continue
        k = _key(v, numeric)
        out[k] = out.get(k, 0) + int(c)
    return out


def _sorted_quantiles(s: np.ndarray, u: np.ndarray = _U) -> np.ndarray:
    pos = u * (s.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, s.size - 1)
    frac = pos - lo
    return s[lo] * (1 - frac) + s[hi] * frac


# ------------------------------------------------------------------ reference statistics
@dataclass
class ReferenceStats:
    """Per-column sketches of a reference table (see the module docstring)."""

    row_count: int
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "data"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": 1,
            "row_count": self.row_count,
            "source": self.source,
            "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReferenceStats:
        return cls(int(d["row_count"]), dict(d["columns"]), str(d.get("source", "data")))

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @classmethod
    def from_table(cls, data: Any, columns: Sequence[str] | None = None) -> ReferenceStats:
        """Compute the sketches of a table (Arrow, pandas or polars), columns in parallel."""
        from ..data import as_arrow_table

        table = as_arrow_table(data)
        names = list(columns) if columns is not None else table.column_names
        missing = [c for c in names if c not in table.column_names]
        if missing:
            raise InvalidInput(
                f"the reference has no column {missing[0]!r}; columns: "
                f"{', '.join(table.column_names)}",
                details={"column": missing[0]},
            )
        jobs = [(n, table.column(n)) for n in names if _kind(table.column(n).type) is not None]
        with ThreadPoolExecutor(_workers(len(jobs))) as pool:
            stats = list(pool.map(lambda j: _column_stats(j[1], table.num_rows), jobs))
        return cls(table.num_rows, {n: s for (n, _), s in zip(jobs, stats, strict=True)})

    @classmethod
    def from_profile(cls, profile: Any) -> ReferenceStats:
        """Approximate sketches from a stored :class:`shipyard.data.TableProfile`."""
        out: dict[str, dict[str, Any]] = {}
        for cp in profile:
            if cp.count == 0:
                continue
            if cp.kind == "numeric" and cp.histogram is not None:
                edges = np.asarray(cp.histogram.edges, dtype=np.float64)
                counts = np.asarray(cp.histogram.counts, dtype=np.float64)
                cdf = np.concatenate([[0.0], np.cumsum(counts) / max(counts.sum(), 1)])
                q = np.interp(_U, cdf, edges)
                s: dict[str, Any] = {
                    "kind": "numeric",
                    "n": cp.count,
                    "nulls": cp.null_count,
                    "distinct": cp.distinct or 0,
                    "std": cp.std or 0.0,
                    "quantiles": q.tolist(),
                    "hist": {"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
                }
                s.update(_psi_bins(q, None, cp.count))
                if cp.top is not None:
                    s["categories"] = {
                        _key(v, True): int(c)
                        for v, c in zip(cp.top.values, cp.top.counts, strict=True)
                    }
                out[cp.name] = s
            elif cp.kind in ("categorical", "boolean") and cp.top is not None:
                cats = {
                    _key(v, False): int(c)
                    for v, c in zip(cp.top.values, cp.top.counts, strict=True)
                }
                out[cp.name] = {
                    "kind": "categorical",
                    "n": cp.count,
                    "nulls": cp.null_count,
                    "distinct": cp.distinct or len(cats),
                    "categories": cats,
                    "other": int(cp.top.other),
                }
        return cls(int(profile.row_count), out, "profile")


def _workers(n: int) -> int:
    return max(1, min(n, os.cpu_count() or 2, 8))


def _psi_bins(q: np.ndarray, s: np.ndarray | None, n: int) -> dict[str, Any]:
    edges = np.unique(q[np.linspace(0, N_QUANTILES - 1, PSI_BINS + 1).astype(int)][1:-1])
    if s is not None:
        counts = np.diff(np.concatenate([[0], np.searchsorted(s, edges, "right"), [s.size]]))
    else:  # from a quantile grid: equal mass per decile, corrected for merged edges
        cdf = np.interp(edges, q, _U) if edges.size else np.empty(0)
        counts = np.diff(np.concatenate([[0.0], cdf, [1.0]])) * n
    return {"psi_edges": edges.tolist(), "psi_counts": [float(c) for c in counts]}


def _column_stats(col: pa.ChunkedArray, n_rows: int) -> dict[str, Any]:
    kind = _kind(col.type)
    nulls = col.null_count
    if kind == "numeric":
        s = np.sort(numeric_values(col))
        if s.size == 0:
            return {"kind": "numeric", "n": 0, "nulls": nulls, "distinct": 0}
        distinct = int(np.count_nonzero(np.diff(s)) + 1)
        q = _sorted_quantiles(s)
        lo, hi = float(s[0]), float(s[-1])
        bins = 20
        if hi > lo:
            edges = np.linspace(lo, hi, bins + 1)
            pos = np.searchsorted(s, edges[1:-1], side="left")
            hist = np.diff(np.concatenate([[0], pos, [s.size]]))
        else:
            edges, hist = np.array([lo, lo + 1.0]), np.array([s.size])
        out: dict[str, Any] = {
            "kind": "numeric",
            "n": int(s.size),
            "nulls": int(nulls),
            "distinct": distinct,
            "std": float(s.std(ddof=1)) if s.size > 1 else 0.0,
            "mean": float(s.mean()),
            "quantiles": q.tolist(),
            "hist": {"edges": edges.tolist(), "counts": hist.astype(int).tolist()},
        }
        out.update(_psi_bins(q, s, s.size))
        if s.size <= SMALL_REFERENCE:
            out["values"] = s.tolist()
        if distinct <= LOW_CARDINALITY:
            out["categories"] = value_counts(col, True)
        return out
    counts = value_counts(col, False)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ordered[:MAX_CATEGORIES])
    return {
        "kind": "categorical",
        "n": int(sum(counts.values())),
        "nulls": int(nulls),
        "distinct": len(counts),
        "categories": kept,
        "other": int(sum(counts.values()) - sum(kept.values())),
    }


# ------------------------------------------------------------------ test choice
def choose_test(ref: Mapping[str, Any], n_ref: int) -> str:
    """The default test of a column given its reference sketch and reference size."""
    numeric = ref["kind"] == "numeric"
    distinct = int(ref.get("distinct") or 0)
    if n_ref <= SMALL_REFERENCE:
        if numeric and distinct > 5:
            return "ks"
        if distinct <= 2:
            return "z"
        return "chisquare"
    if numeric and distinct > 5:
        return "wasserstein"
    return "jensenshannon"


# ------------------------------------------------------------------ statistics
def psi(expected: np.ndarray, actual: np.ndarray, eps: float = PSI_EPS) -> float:
    """Population stability index of two count (or share) vectors over the same bins."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e = np.clip(e / max(e.sum(), 1e-12), eps, None)
    a = np.clip(a / max(a.sum(), 1e-12), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _aligned(ref: Mapping[str, Any], cur: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    cats = dict(ref.get("categories") or {})
    keys = list(cats)
    r = [float(cats[k]) for k in keys]
    c = [float(cur.get(k, 0)) for k in keys]
    ref_other = float(ref.get("other", 0))
    cur_other = float(sum(v for k, v in cur.items() if k not in cats))
    if ref_other or cur_other:
        r.append(ref_other)
        c.append(cur_other)
    return np.asarray(r), np.asarray(c)


def _ks(ref: Mapping[str, Any], s: np.ndarray) -> float:
    from scipy import stats

    if "values" in ref:
        ref_values = np.asarray(ref["values"], dtype=np.float64)
        n_ref = ref_values.size
    else:
        ref_values = np.asarray(ref["quantiles"], dtype=np.float64)
        n_ref = int(ref["n"])
    # D from the two empirical CDFs over the pooled points (both samples sorted)
    pts = np.concatenate([ref_values, s])
    cdf_r = np.searchsorted(ref_values, pts, "right") / ref_values.size
    cdf_c = np.searchsorted(s, pts, "right") / s.size
    d = float(np.max(np.abs(cdf_r - cdf_c)))
    en = n_ref * s.size / (n_ref + s.size)
    if "values" in ref and n_ref * s.size <= 10_000:
        return float(stats.ks_2samp(ref_values, s, method="exact").pvalue)
    return float(stats.kstwo.sf(d, max(1, round(en))))


def _chisquare(r: np.ndarray, c: np.ndarray) -> float:
    from scipy import stats

    keep = (r + c) > 0
    r, c = r[keep], c[keep]
    if r.size < 2:
        return 1.0
    res = stats.chi2_contingency(np.vstack([r, c]), correction=False)
    return float(res.pvalue)


def _z(r: np.ndarray, c: np.ndarray) -> float:
    from scipy import stats

    n1, n2 = r.sum(), c.sum()
    if n1 == 0 or n2 == 0 or r.size == 0:
        return 1.0
    p1, p2 = r[0] / n1, c[0] / n2
    p = (r[0] + c[0]) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if p1 == p2 else 0.0
    z = (p1 - p2) / se
    return float(2 * stats.norm.sf(abs(z)))


def _js(r: np.ndarray, c: np.ndarray) -> float:
    from scipy.spatial import distance

    if r.sum() == 0 or c.sum() == 0:
        return 0.0
    return float(distance.jensenshannon(r / r.sum(), c / c.sum()))


@dataclass
class ColumnDrift:
    column: str
    kind: str
    test: str
    statistic: float
    threshold: float
    drifted: bool
    psi: float
    rows: int
    null_share: float
    current: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "test": self.test,
            "statistic": _finite(self.statistic),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "psi": _finite(self.psi),
            "rows": self.rows,
            "null_share": self.null_share,
            "current": self.current,
        }


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def column_drift(
    name: str,
    ref: Mapping[str, Any],
    n_ref: int,
    col: pa.ChunkedArray | pa.Array,
    *,
    test: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of one current column against its reference sketch."""
    test = test or choose_test(ref, n_ref)
    if test not in TESTS:
        raise InvalidInput(
            f"unknown drift test {test!r}; choose one of {', '.join(TESTS)}",
            details={"test": test},
        )
    thr = DEFAULT_THRESHOLDS[test] if threshold is None else float(threshold)
    total = len(col)
    nulls = col.null_count
    numeric = ref["kind"] == "numeric"
    current: dict[str, Any] = {}
    if (numeric and test in ("ks", "wasserstein", "psi")) or (numeric and "categories" not in ref):
        if not (
            pa.types.is_integer(col.type)
            or pa.types.is_floating(col.type)
            or pa.types.is_boolean(col.type)
            or pa.types.is_decimal(col.type)
        ):
            col = pc.cast(col, pa.float64(), safe=False)
        s = np.sort(numeric_values(col))
        n = int(s.size)
        if n == 0:
            return ColumnDrift(
                name,
                ref["kind"],
                test,
                math.nan,
                thr,
                False,
                math.nan,
                0,
                1.0 if total else 0.0,
                {"no_data": True},
            )
        edges = np.asarray(ref["psi_edges"], dtype=np.float64)
        cur_bins = np.diff(np.concatenate([[0], np.searchsorted(s, edges, "right"), [n]]))
        p = psi(np.asarray(ref["psi_counts"]), cur_bins)
        if test == "ks":
            stat = _ks(ref, s)
        elif test == "wasserstein":
            q = _sorted_quantiles(s)
            w = float(np.trapezoid(np.abs(q - np.asarray(ref["quantiles"])), _U))
            std = float(ref.get("std") or 0.0)
            stat = w / std if std > 0 else w
        elif test == "psi":
            stat = p
        else:  # a categorical test on a numeric column without value counts
            raise InvalidInput(f"test {test!r} needs value counts for column {name!r}")
        hist = ref.get("hist")
        if hist:
            he = np.asarray(hist["edges"], dtype=np.float64)
            hc = np.diff(np.searchsorted(s, he, "left"))
            hc[-1] += int(np.count_nonzero(s == he[-1]))
            current = {
                "hist": hc.astype(int).tolist(),
                "mean": float(s.mean()),
                "below": int(np.searchsorted(s, he[0], "left")),
                "above": int(n - np.searchsorted(s, he[-1], "right")),
            }
    else:
        counts = value_counts(col, numeric)
        n = int(sum(counts.values()))
        if n == 0:
            return ColumnDrift(
                name,
                ref["kind"],
                test,
                math.nan,
                thr,
                False,
                math.nan,
                0,
                1.0 if total else 0.0,
                {"no_data": True},
            )
        r, c = _aligned(ref, counts)
        p = psi(r, c)
        if test == "chisquare":
            stat = _chisquare(r, c)
        elif test == "z":
            stat = _z(r, c)
        elif test == "jensenshannon":
            stat = _js(r, c)
        elif test == "psi":
            stat = p
        else:
            raise InvalidInput(
                f"test {test!r} applies to numeric columns; column {name!r} is categorical",
                details={"column": name, "test": test},
            )
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:30]
        current = {"categories": dict(top)}
    drifted = stat < thr if test in P_VALUE_TESTS else stat >= thr
    return ColumnDrift(
        name,
        ref["kind"],
        test,
        float(stat),
        thr,
        bool(drifted),
        p,
        n,
        nulls / total if total else 0.0,
        current,
    )


@dataclass
class DriftResult:
    columns: dict[str, ColumnDrift]
    rows: int
    drift_share: float | None
    dataset_drift: bool | None
    threshold: float

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns.values() if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "drift_share_threshold": self.threshold,
            "drifted_columns": self.drifted_columns,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
        }


def compute_drift(
    reference: ReferenceStats,
    current: Any,
    *,
    columns: Mapping[str, str] | Sequence[str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
) -> DriftResult:
    """Drift of every column of *current* against *reference*.

    *columns* maps current column names to reference names (or lists names present in
    both); *tests* and *thresholds* override the test or threshold per column (by
    reference name) or per test name (``{"psi": 0.1}``).
    """
    from ..data import as_arrow_table

    table = as_arrow_table(current)
    if columns is None:
        mapping = {c: c for c in table.column_names if c in reference}
    elif isinstance(columns, Mapping):
        mapping = dict(columns)
    else:
        mapping = {c: c for c in columns}
    for ref_name in mapping.values():
        if ref_name not in reference:
            raise InvalidInput(
                f"column {ref_name!r} has no reference statistics; reference columns: "
                f"{', '.join(reference.columns)}",
                details={"column": ref_name},
            )
    tests = dict(tests or {})
    thresholds = dict(thresholds or {})
    n_ref = reference.row_count
    rows = table.num_rows

    def one(item: tuple[str, str]) -> ColumnDrift:
        cur_name, ref_name = item
        ref = reference.columns[ref_name]
        col = table.column(cur_name) if cur_name in table.column_names else pa.nulls(rows)
        test = tests.get(ref_name) or choose_test(ref, n_ref)
        thr = thresholds.get(ref_name, thresholds.get(test))
        return column_drift(ref_name, ref, n_ref, col, test=test, threshold=thr)

    items = list(mapping.items())
    if rows == 0:
        return DriftResult({}, 0, None, None, drift_share)
    with ThreadPoolExecutor(_workers(len(items))) as pool:
        results = list(pool.map(one, items))
    scored = [r for r in results if r.rows > 0]
    share = (sum(r.drifted for r in scored) / len(scored)) if scored else None
    return DriftResult(
        {r.column: r for r in results},
        rows,
        share,
        None if share is None else share >= drift_share,
        drift_share,
    )
