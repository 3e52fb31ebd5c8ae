"""Generated feature tables and a brute-force point-in-time reference."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = ["f0", "f1", "f2", "f3", "f4"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def churn_table(n_entities: int, n_times: int, seed: int = 0, start: datetime = T0) -> pa.Table:
    """customer_id, event_time (UTC), 5 float features; one row per entity per time."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(n_entities, dtype=np.int64), n_times)
    offsets = rng.integers(0, 365 * 86400, size=ids.size) * 1_000_000
    base = int(start.timestamp() * 1_000_000)
    ts = pa.array(base + offsets, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    cols: dict[str, Any] = {"customer_id": ids, "event_time": ts}
    for f in FEATURES:
        cols[f] = rng.random(ids.size)
    return pa.table(cols)


def write(table: pa.Table | pd.DataFrame, path: Path) -> str:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return str(path)


def reference_pit(
    rows: Sequence[dict[str, Any]],
    key: str,
    when: Any,
    *,
    ttl: timedelta | None = None,
    created: str | None = None,
    ts: str = "event_time",
    upper_inclusive: bool = True,
    lower: Any = None,
) -> dict[str, Any] | None:
    """The feature row that applies to entity *key* at *when*, by brute force.

    Latest ``ts <= when`` (or ``< when``), ties by created time (missing loses), then by
    position; None if there is none or it is older than the TTL.
    """
    best = None
    best_order = None
    for i, r in enumerate(rows):
        if r["customer_id"] != key:
            continue
        t = r[ts]
        if (t > when) if upper_inclusive else (t >= when):
            continue
        if lower is not None and t < lower:
            continue
        c = r.get(created) if created else None
        order = (t, c is not None, c if c is not None else t, i)
        if best_order is None or order > best_order:
            best, best_order = r, order
    if best is None:
        return None
    if ttl is not None and when - best[ts] > ttl:
        return None
    return best
