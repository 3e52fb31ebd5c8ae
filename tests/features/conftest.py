from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import shipyard as sy
from tests.features._data import FEATURES, churn_table, write


@pytest.fixture
def churn_source(tmp_path: Path) -> str:
    return write(churn_table(50, 20, seed=1), tmp_path / "src" / "churn.parquet")


@pytest.fixture
def customer() -> sy.Entity:
    return sy.Entity("customer", join_keys=["customer_id"])


@pytest.fixture
def churn_ws(sqlite_ws: Any, churn_source: str, customer: sy.Entity) -> Iterator[Any]:
    """A SQLite workspace with view 'churn' (5 float features, TTL 30 days) applied."""
    view = sy.FeatureView(
        "churn",
        entities=[customer],
        source=churn_source,
        features=[sy.Feature(f) for f in FEATURES],
        ttl=timedelta(days=30),
    )
    sqlite_ws.features.apply([customer, view])
    yield sqlite_ws
