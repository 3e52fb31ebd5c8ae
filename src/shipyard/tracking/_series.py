"""Metric series as arrays, and downsampling for charts that keeps the extremes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Series:
    """One metric of one run: ``step``, ``ts`` (epoch ms) and ``value`` arrays (NaN kept).

    ``total`` is the number of stored points; ``len(series)`` is how many were returned
    (fewer when downsampled).
    """

    run_id: str
    key: str
    step: np.ndarray
    ts: np.ndarray
    value: np.ndarray
    total: int
    method: str | None = None

    def __len__(self) -> int:
        return int(self.step.shape[0])

    @property
    def downsampled(self) -> bool:
        return len(self) < self.total

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {
                "step": self.step,
                "timestamp": pd.to_datetime(self.ts, unit="ms", utc=True),
                "value": self.value,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and ±inf become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
        return {
            "run_id": self.run_id,
            "key": self.key,
            "total": self.total,
            "returned": len(self),
            "method": self.method,
            "step": self.step.tolist(),
            "ts": self.ts.tolist(),
            "value": [json_float(v) for v in self.value.tolist()],
        }


def json_float(v: float | None) -> float | str | None:
    if v is None:
        return None
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def minmax_indices(value: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the min and max of each of ``max_points // 2`` equal buckets, plus the
    first and last point, in order. Extremes (spikes, NaN-free minima) always survive."""
    n = value.shape[0]
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    size = int(np.max(np.diff(edges)))
    # Pad each bucket to the same width so argmin/argmax run vectorised.
    idx = edges[:-1, None] + np.arange(size)[None, :]
    valid = idx < edges[1:, None]
    idx = np.where(valid, idx, edges[1:, None] - 1)
    v = value[idx]
    finite = np.where(np.isnan(v), np.inf, v)
    lo = idx[np.arange(buckets), np.argmin(finite, axis=1)]
    finite = np.where(np.isnan(v), -np.inf, v)
    hi = idx[np.arange(buckets), np.argmax(finite, axis=1)]
    keep = np.unique(np.concatenate(([0, n - 1], lo, hi)))
    return keep


def lttb_indices(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Largest-Triangle-Three-Buckets: the visually most significant ``max_points``."""
    n = x.shape[0]
    if n <= max_points or max_points < 3:
        return np.arange(n)
    yy = np.where(np.isnan(y), 0.0, y)
    xx = x.astype(np.float64)
    out = np.empty(max_points, dtype=np.int64)
    out[0] = 0
    edges = np.linspace(1, n - 1, max_points - 1).astype(np.int64)
    a = 0
    for i in range(max_points - 2):
        lo, hi = edges[i], max(edges[i + 1], edges[i] + 1)
        nlo, nhi = edges[i + 1], max(edges[i + 2] if i + 2 < len(edges) else n, edges[i + 1] + 1)
        avg_x = xx[nlo:nhi].mean() if nhi > nlo else xx[-1]
        avg_y = yy[nlo:nhi].mean() if nhi > nlo else yy[-1]
        area = np.abs((xx[a] - avg_x) * (yy[lo:hi] - yy[a]) - (xx[a] - xx[lo:hi]) * (avg_y - yy[a]))
        a = lo + int(np.argmax(area))
        out[i + 1] = a
    out[-1] = n - 1
    return np.unique(out)
