"""The prediction log's table path writes what its row path writes, column for column."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from shipyard.monitoring._logs import flatten_rows
from shipyard.serving._predlog import _Entry, build_table, entry_rows


def _entries(
    inputs: list[Any], outputs: list[dict[str, Any]], rows: list[list[int]]
) -> list[_Entry]:
    out = []
    for k, (x, y, sizes) in enumerate(zip(inputs, outputs, rows, strict=True)):
        requests = [(f"r{k}-{i}", "v2", 200, 1.5 + i, n, 2 * i) for i, n in enumerate(sizes)]
        out.append(_Entry(time.time() + k, "m", 3, "dep", requests, x, y))
    return out


CASES = {
    "tensor in, labels out": _entries(
        [np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((1, 2), np.float32)],
        [{"predict": np.array([0, 1, 1])}, {"predict": np.array([2])}],
        [[1, 2], [1]],
    ),
    "columns in, logits out": _entries(
        [
            {"a": np.array([1.5, -2.0]), "n": np.array([3, 4]), "s": np.array(["x", "y"], object)},
            {"a": np.array([0.25]), "n": np.array([7]), "s": np.array(["z"], object)},
        ],
        [
            {"predict": np.array([[0.1, 0.9], [0.7, 0.3]], np.float32)},
            {"predict": np.array([[0.5, 0.5]], np.float32)},
        ],
        [[2], [1]],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_table_path_matches_row_path(case: str) -> None:
    entries = CASES[case]
    table = build_table(entries)
    assert table is not None, "the table path must not fall back to rows for this case"
    rows = flatten_rows([r for e in entries for r in entry_rows(e)])
    assert table.num_rows == rows.num_rows == sum(r[4] for e in entries for r in e.requests)
    assert sorted(table.column_names) == sorted(rows.column_names)
    for name in rows.column_names:
        got, want = table.column(name).to_pylist(), rows.column(name).to_pylist()
        if name == "ts":  # float seconds to microseconds: the two may round apart by 1 µs
            assert all(
                abs((g - w).total_seconds()) <= 1e-6 for g, w in zip(got, want, strict=True)
            ), name
            continue
        assert got == want, name
    if case == "columns in, logits out":  # several numbers per row: their JSON text
        first = table.column("out_predict").to_pylist()[0]
        assert json.loads(first) == pytest.approx([0.1, 0.9])
