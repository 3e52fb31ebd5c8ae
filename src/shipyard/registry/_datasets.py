"""Training/evaluation data given to the registry: DataFrames or dataset references.

A DataFrame is used as is; ``"churn@2"`` (or a DatasetVersion object) is resolved with
``ws.datasets.get(ref).to_pandas()`` and keeps its lineage node. Row hashes (one uint64
per row over chosen columns) let evaluation detect rows shared between training and
evaluation data without keeping the training data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import InvalidInput
from ..store import Node


@dataclass
class ResolvedData:
    frame: Any
    label: str
    dataset_version_id: str | None
    node: Node | None


def resolve_dataset(ws: Any, data: Any, what: str = "dataset") -> ResolvedData:
    """A DataFrame, a dataset reference string or a DatasetVersion → ResolvedData."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        rows, cols = data.shape
        return ResolvedData(data, f"DataFrame[{rows}x{cols}]", None, None)
    if isinstance(data, str) or (hasattr(data, "to_pandas") and hasattr(data, "lineage_node")):
        if isinstance(data, str):
            datasets = getattr(ws, "datasets", None)
            if datasets is None:
                raise InvalidInput(
                    f"cannot resolve {what} {data!r}: this workspace has no datasets service; "
                    "pass a pandas DataFrame instead",
                    details={"ref": data},
                )
            dv = datasets.get(data)
        else:
            dv = data
        node = dv.lineage_node
        frame = dv.to_pandas()
        return ResolvedData(frame, node.label or str(data), node.id, node)
    raise InvalidInput(
        f"cannot use a {type(data).__name__} as {what}: pass a pandas DataFrame or a "
        "dataset reference such as 'churn@2'",
        details={"type": type(data).__name__},
    )


def row_hashes(frame: Any, columns: list[str]) -> np.ndarray:
    """One stable uint64 per row over *columns* (order-independent of other columns)."""
    import pandas as pd

    if not columns:
        return np.empty(0, dtype=np.uint64)
    sub = frame[columns]
    return np.asarray(pd.util.hash_pandas_object(sub, index=False).to_numpy(), dtype=np.uint64)


def column_stats(frame: Any, limit: int = 50) -> dict[str, Any]:
    """Per-column summary for model cards: dtype, nulls, and numeric or category stats."""
    out: dict[str, Any] = {}
    for col in list(frame.columns)[:limit]:
        s = frame[col]
        entry: dict[str, Any] = {"dtype": str(s.dtype), "nulls": int(s.isna().sum())}
        if s.dtype.kind in "iuf" and len(s):
            entry.update(mean=_f(s.mean()), std=_f(s.std()), min=_f(s.min()), max=_f(s.max()))
        elif s.dtype.kind == "b":
            entry["true_rate"] = _f(s.mean()) if len(s) else None
        else:
            counts = s.astype("string").value_counts().head(5)
            entry.update(unique=int(s.nunique()), top={str(k): int(v) for k, v in counts.items()})
        out[str(col)] = entry
    return out


def _f(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else round(v, 6)
