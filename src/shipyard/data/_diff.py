"""Differences between two dataset versions: files, and for tables schema, rows, stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._manifest import FileEntry
from ._version import DatasetVersion

_STATS = ("mean", "std", "min", "max", "null_fraction", "distinct")


@dataclass(frozen=True)
class ColumnShift:
    column: str
    stats: dict[str, tuple[Any, Any]]  # stat -> (a, b)
    psi: float | None = None  # population stability index over a's histogram bins

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "stats": {k: {"a": a, "b": b} for k, (a, b) in self.stats.items()},
            "psi": self.psi,
        }


@dataclass(frozen=True)
class DatasetDiff:
    a: str
    b: str
    added: list[FileEntry] = field(default_factory=list)
    removed: list[FileEntry] = field(default_factory=list)
    modified: list[tuple[FileEntry, FileEntry]] = field(default_factory=list)
    unchanged: int = 0
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    type_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows: tuple[int | None, int | None] = (None, None)
    shifts: list[ColumnShift] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.modified)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "identical": self.identical,
            "added": [f.to_dict() for f in self.added],
            "removed": [f.to_dict() for f in self.removed],
            "modified": [{"a": x.to_dict(), "b": y.to_dict()} for x, y in self.modified],
            "unchanged": self.unchanged,
            "columns_added": self.columns_added,
            "columns_removed": self.columns_removed,
            "type_changes": {k: {"a": a, "b": b} for k, (a, b) in self.type_changes.items()},
            "rows": {"a": self.rows[0], "b": self.rows[1]},
            "shifts": [s.to_dict() for s in self.shifts],
        }


def diff_versions(a: DatasetVersion, b: DatasetVersion) -> DatasetDiff:
    fa = {f.path: f for f in a.files()}
    fb = {f.path: f for f in b.files()}
    added = [fb[p] for p in sorted(fb.keys() - fa.keys())]
    removed = [fa[p] for p in sorted(fa.keys() - fb.keys())]
    both = sorted(fa.keys() & fb.keys())
    modified = [(fa[p], fb[p]) for p in both if fa[p].digest != fb[p].digest]
    out: dict[str, Any] = {
        "added": added,
        "removed": removed,
        "modified": modified,
        "unchanged": len(both) - len(modified),
    }
    if a.table_schema is not None and b.table_schema is not None:
        ta = {c["name"]: c["type"] for c in a.table_schema}
        tb = {c["name"]: c["type"] for c in b.table_schema}
        out["columns_added"] = [c for c in tb if c not in ta]
        out["columns_removed"] = [c for c in ta if c not in tb]
        out["type_changes"] = {c: (ta[c], tb[c]) for c in ta if c in tb and ta[c] != tb[c]}
        out["rows"] = (a.row_count, b.row_count)
        if a.profile is not None and b.profile is not None:
            pa_, pb = a.stats(), b.stats()
            shifts = []
            for name in ta:
                if name not in tb or name not in pa_.columns or name not in pb.columns:
                    continue
                ca, cb = pa_[name], pb[name]
                stats: dict[str, tuple[Any, Any]] = {}
                for s in _STATS:
                    va, vb = getattr(ca, s), getattr(cb, s)
                    if va is None and vb is None:
                        continue
                    if va != vb:
                        stats[s] = (va, vb)
                psi = _psi(ca, cb)
                if stats or (psi is not None and psi > 0):
                    shifts.append(ColumnShift(name, stats, psi))
            out["shifts"] = shifts
    return DatasetDiff(a.ref, b.ref, **out)


def _psi(a: Any, b: Any) -> float | None:
    """PSI of b against a: a's histogram bins for numbers, top values for categories."""
    import numpy as np

    eps = 1e-4
    if a.histogram is not None and b.histogram is not None:
        edges = np.asarray(a.histogram.edges)
        pa_ = np.asarray(a.histogram.counts, dtype=float)
        # b's counts re-binned onto a's edges, spreading each b bin's mass uniformly
        # over its width; mass outside a's range goes to a's first / last bin
        pb = _rebin(np.asarray(b.histogram.edges), np.asarray(b.histogram.counts, float), edges)
    elif a.top is not None and b.top is not None:
        keys = list(dict.fromkeys([*a.top.values, *b.top.values]))
        fa, fb = a.top.frequencies(), b.top.frequencies()
        pa_ = np.asarray([fa.get(k, 0.0) for k in keys])
        pb = np.asarray([fb.get(k, 0.0) for k in keys])
    else:
        return None
    if pa_.sum() == 0 or pb.sum() == 0:
        return None
    pa_ = np.clip(pa_ / pa_.sum(), eps, None)
    pb = np.clip(pb / pb.sum(), eps, None)
    return round(float(np.sum((pb - pa_) * np.log(pb / pa_))), 6)


def _rebin(b_edges: Any, b_counts: Any, a_edges: Any) -> Any:
    import numpy as np

    out = np.zeros(len(a_edges) - 1)
    lo, hi = a_edges[0], a_edges[-1]
    for left, right, count in zip(b_edges[:-1], b_edges[1:], b_counts, strict=True):
        if count == 0:
            continue
        width = right - left
        if width <= 0:  # a constant column: all mass at one point
            idx = np.clip(np.searchsorted(a_edges, left, side="right") - 1, 0, len(out) - 1)
            out[idx] += count
            continue
        below = max(0.0, min(right, lo) - left) / width
        above = max(0.0, right - max(left, hi)) / width
        overlap = (
            np.clip(np.minimum(right, a_edges[1:]) - np.maximum(left, a_edges[:-1]), 0, None)
            / width
        )
        out += overlap * count
        out[0] += below * count
        out[-1] += above * count
    return out
