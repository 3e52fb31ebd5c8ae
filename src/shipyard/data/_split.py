"""Deterministic, hash-based assignment of rows to splits."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..core import InvalidInput


def assign_splits(
    table: pa.Table,
    fractions: Mapping[str, float],
    *,
    key: str | Sequence[str] | None,
    seed: int,
    ref: str,
) -> pa.Array:
    """The split index of every row (an int8 array), from a seeded hash of *key*.

    The hash of a row's key maps it to a number in [0, 1); the split is the one whose
    cumulative fraction interval contains it. A key value therefore lands in the same
    split in every version, whatever rows are added around it.
    """
    import pandas as pd

    if not isinstance(fractions, Mapping) or not fractions:
        raise InvalidInput(
            "split fractions must be a mapping such as {'train': 0.8, 'test': 0.2}",
            details={"ref": ref},
        )
    values = []
    for name, frac in fractions.items():
        if not isinstance(frac, int | float) or not 0 < float(frac) <= 1:
            raise InvalidInput(
                f"split {name!r} has fraction {frac!r}; fractions must be in (0, 1]",
                details={"ref": ref, "split": name},
            )
        values.append(float(frac))
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise InvalidInput(
            f"split fractions add up to {sum(values):g}, not 1: "
            + ", ".join(f"{k}={v}" for k, v in fractions.items()),
            details={"ref": ref},
        )
    keys = [key] if isinstance(key, str) else list(key or [])
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise InvalidInput(
            f"split key column(s) {', '.join(map(repr, missing))} not in {ref}; "
            f"columns: {', '.join(table.column_names)}",
            details={"ref": ref, "key": keys},
        )
    frame = table.select(keys).to_pandas() if keys else table.to_pandas()
    hash_key = f"shipyard{seed & 0xFFFFFFFF:08x}"
    hashes = pd.util.hash_pandas_object(frame, index=False, hash_key=hash_key).to_numpy()
    u = (hashes >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    cum = np.cumsum(values)
    cum[-1] = 1.0
    idx = np.minimum(np.searchsorted(cum, u, side="right"), len(values) - 1)
    return pa.array(idx.astype(np.int8))
