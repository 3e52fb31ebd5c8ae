"""Point-in-time correctness: hand-built edge cases and a brute-force reference (hypothesis)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shipyard as sy
from shipyard.core import InvalidInput, NotFound
from tests.features._data import T0, reference_pit, write

DAY = timedelta(days=1)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _setup(ws: Any, tmp_path: Path, rows: list[dict[str, Any]], **view_kwargs: Any) -> None:
    src = write(_frame(rows), tmp_path / "feat" / "part-000.parquet")
    customer = sy.Entity("customer", join_keys=["customer_id"])
    view = sy.FeatureView(
        "v", entities=[customer], source=str(tmp_path / "feat"), features=["x"], **view_kwargs
    )
    ws.features.apply([customer, view])
    assert src


def _get(ws: Any, entity_rows: list[tuple[int, datetime]], **kw: Any) -> list[Any]:
    df = pd.DataFrame(
        {
            "customer_id": [k for k, _ in entity_rows],
            "event_timestamp": pd.to_datetime([t for _, t in entity_rows], utc=True),
        }
    )
    out = ws.features.get_historical_features(df, ["v:x"], **kw).to_pandas()
    return [None if pd.isna(v) else v for v in out["x"]]


def test_boundaries_ttl_and_entities_without_history(sqlite_ws: Any, tmp_path: Path) -> None:
    rows = [
        {"customer_id": 1, "event_time": T0, "x": 1.0},
        {"customer_id": 1, "event_time": T0 + 2 * DAY, "x": 2.0},
        {"customer_id": 2, "event_time": T0 + DAY, "x": 5.0},
    ]
    _setup(sqlite_ws, tmp_path, rows, ttl=timedelta(days=1))
    micro = timedelta(microseconds=1)
    got = _get(
        sqlite_ws,
        [
            (1, T0 - micro),  # before the first value
            (1, T0),  # exactly at an event time: included
            (1, T0 + DAY),  # exactly at the TTL edge: included
            (1, T0 + DAY + micro),  # one microsecond past the TTL: null
            (1, T0 + 2 * DAY - micro),  # still outside the TTL of the first row
            (1, T0 + 2 * DAY),  # the second row applies
            (2, T0 + 10 * DAY),  # outside the TTL
            (3, T0 + DAY),  # an entity with no history
        ],
    )
    assert got == [None, 1.0, 1.0, None, None, 2.0, None, None]


def test_ties_broken_by_created_time_then_row_order(sqlite_ws: Any, tmp_path: Path) -> None:
    rows = [
        {"customer_id": 1, "event_time": T0, "created_at": T0 + 2 * DAY, "x": 1.0},
        {"customer_id": 1, "event_time": T0, "created_at": T0 + 5 * DAY, "x": 2.0},  # newest
        {"customer_id": 1, "event_time": T0, "created_at": T0 + 3 * DAY, "x": 3.0},
        {"customer_id": 2, "event_time": T0, "created_at": T0, "x": 7.0},
        {"customer_id": 2, "event_time": T0, "created_at": T0, "x": 8.0},  # same created: later row
    ]
    _setup(sqlite_ws, tmp_path, rows, created_timestamp="created_at")
    assert _get(sqlite_ws, [(1, T0 + DAY), (2, T0 + DAY)]) == [2.0, 8.0]


def test_late_arriving_rows_in_a_later_file(sqlite_ws: Any, tmp_path: Path) -> None:
    rows = [
        {"customer_id": 1, "event_time": T0, "x": 1.0},
        {"customer_id": 1, "event_time": T0 + 4 * DAY, "x": 4.0},
    ]
    _setup(sqlite_ws, tmp_path, rows)
    assert _get(sqlite_ws, [(1, T0 + 3 * DAY)]) == [1.0]
    late = [
        {"customer_id": 1, "event_time": T0 + 2 * DAY, "x": 2.0},  # arrives late
        {"customer_id": 1, "event_time": T0 + 4 * DAY, "x": 40.0},  # corrects the same time
    ]
    write(_frame(late), tmp_path / "feat" / "part-001.parquet")
    assert _get(sqlite_ws, [(1, T0 + 3 * DAY), (1, T0 + 4 * DAY)]) == [2.0, 40.0]


def test_result_keeps_input_order_columns_and_timezones(churn_ws: Any) -> None:
    entity = pd.DataFrame(
        {
            "customer_id": [3, 1, 3, 2],
            "event_timestamp": pd.to_datetime(
                ["2026-06-01T02:00:00+02:00", "2026-03-01", "2026-02-01", "2026-12-31"],
                utc=True,
                format="ISO8601",
            ),
            "label": [1, 0, 1, 0],
        }
    )
    ts = churn_ws.features.get_historical_features(entity, ["churn:f0", "churn:f3"])
    df = ts.to_pandas()
    assert list(df.columns) == ["customer_id", "event_timestamp", "label", "f0", "f3"]
    assert df["customer_id"].tolist() == [3, 1, 3, 2]
    assert df["label"].tolist() == [1, 0, 1, 0]
    assert ts.features == ["churn@1:f0", "churn@1:f3"]
    # naive timestamps are UTC: same answer as the aware ones
    naive = entity.assign(event_timestamp=entity["event_timestamp"].dt.tz_localize(None))
    df2 = churn_ws.features.get_historical_features(naive, ["churn:f0", "churn:f3"]).to_pandas()
    pd.testing.assert_series_equal(df["f0"], df2["f0"])


def test_bad_entity_dataframes_and_feature_refs(churn_ws: Any) -> None:
    fs = churn_ws.features
    no_ts = pd.DataFrame({"customer_id": [1]})
    with pytest.raises(
        InvalidInput, match=r"no timestamp column 'event_timestamp'.*columns: customer_id"
    ):
        fs.get_historical_features(no_ts, ["churn:f0"])
    bad_ts = pd.DataFrame({"customer_id": [1], "event_timestamp": [1.5]})
    with pytest.raises(InvalidInput, match="has type double, which is not a timestamp"):
        fs.get_historical_features(bad_ts, ["churn:f0"])
    no_key = pd.DataFrame({"event_timestamp": pd.to_datetime([T0])})
    with pytest.raises(InvalidInput, match="lacks the join key 'customer_id'"):
        fs.get_historical_features(no_key, ["churn:f0"])
    str_key = pd.DataFrame({"customer_id": ["1"], "event_timestamp": pd.to_datetime([T0])})
    with pytest.raises(InvalidInput, match=r"join key 'customer_id' is .*string.* in the entity"):
        fs.get_historical_features(str_key, ["churn:f0"])
    ok = pd.DataFrame({"customer_id": [1], "event_timestamp": pd.to_datetime([T0])})
    with pytest.raises(NotFound, match=r"churn@1 has no feature 'nope'.*known: f0, f1"):
        fs.get_historical_features(ok, ["churn:nope"])
    with pytest.raises(NotFound, match="no feature view 'other'"):
        fs.get_historical_features(ok, ["other:f0"])
    with pytest.raises(InvalidInput, match="collides with an entity dataframe column"):
        fs.get_historical_features(ok.assign(f0=1.0), ["churn:f0"])


def test_features_as_of_all_entities(churn_ws: Any, churn_source: str) -> None:
    when = datetime(2026, 7, 1, tzinfo=UTC)
    got = churn_ws.features.get_features_as_of(when, features=["churn:f0"]).to_pandas()
    src = pd.read_parquet(churn_source).to_dict("records")
    expected = {}
    for k in sorted({r["customer_id"] for r in src if r["event_time"] <= when}):
        best = reference_pit(src, k, when, ttl=timedelta(days=30))
        expected[k] = None if best is None else best["f0"]
    assert got["customer_id"].tolist() == list(expected)
    assert [None if pd.isna(v) else v for v in got["f0"]] == list(expected.values())
    some = churn_ws.features.get_features_as_of(
        when, [{"customer_id": 7}, {"customer_id": 999}], features=["churn:f0"]
    ).to_pandas()
    assert some["customer_id"].tolist() == [7, 999]
    assert pd.isna(some["f0"][1])
    assert (pd.isna(some["f0"][0]) and expected[7] is None) or some["f0"][0] == expected[7]


def test_on_demand_features_offline(churn_ws: Any) -> None:
    ratio = sy.OnDemandFeatureView(
        "ratio",
        inputs=["churn:f0", "churn:f1"],
        request=[sy.Feature("amount")],
        features=[sy.Feature("scaled")],
        function=lambda c: {"scaled": c["f0"] * c["amount"] + c["f1"]},
    )
    churn_ws.features.apply([ratio])
    entity = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_timestamp": pd.to_datetime(["2026-12-01", "2026-12-31"], utc=True),
            "amount": [2.0, 3.0],
        }
    )
    df = churn_ws.features.get_historical_features(entity, ["ratio:scaled", "churn:f0"]).to_pandas()
    assert list(df.columns) == ["customer_id", "event_timestamp", "amount", "f0", "scaled"]
    base = churn_ws.features.get_historical_features(entity, ["churn:f0", "churn:f1"]).to_pandas()
    expected = base["f0"] * entity["amount"] + base["f1"]
    np.testing.assert_allclose(df["scaled"], expected)
    with pytest.raises(InvalidInput, match=r"lacks request field\(s\) \['amount'\]"):
        churn_ws.features.get_historical_features(entity.drop(columns="amount"), ["ratio:scaled"])


def test_full_feature_names_and_collisions(churn_ws: Any, churn_source: str) -> None:
    other = sy.FeatureView("churn2", entities=["customer"], source=churn_source, features=["f0"])
    churn_ws.features.apply([other])
    entity = pd.DataFrame({"customer_id": [1], "event_timestamp": pd.to_datetime([T0 + 300 * DAY])})
    with pytest.raises(InvalidInput, match=r"full_feature_names=True"):
        churn_ws.features.get_historical_features(entity, ["churn:f0", "churn2:f0"])
    df = churn_ws.features.get_historical_features(
        entity, ["churn:f0", "churn2:f0"], full_feature_names=True
    ).to_pandas()
    assert "churn__f0" in df.columns and "churn2__f0" in df.columns


# ----------------------------------------------------------------------- hypothesis
_times = st.integers(min_value=0, max_value=30)
_feature_rows = st.lists(
    st.tuples(
        st.integers(0, 3),
        _times,
        st.one_of(st.none(), st.integers(0, 5)),
        st.floats(-100, 100, allow_nan=False),
    ),
    min_size=0,
    max_size=40,
)
_entity_rows = st.lists(st.tuples(st.integers(0, 4), st.integers(-2, 35)), min_size=1, max_size=30)


@pytest.fixture(scope="module")
def pit_ws() -> Any:
    with tempfile.TemporaryDirectory() as d:
        home = Path(d)
        rows = [{"customer_id": 0, "event_time": T0, "created_at": T0, "x": 0.0}]
        write(_frame(rows), home / "feat.parquet")
        customer = sy.Entity("customer", join_keys=["customer_id"])
        with sy.Workspace(home / "ws") as ws:
            ws.features.apply(
                [
                    customer,
                    sy.FeatureView(
                        "v",
                        entities=[customer],
                        source=str(home / "feat.parquet"),
                        features=["x"],
                        created_timestamp="created_at",
                        ttl=timedelta(days=7),
                    ),
                ]
            )
            yield ws, home / "feat.parquet"


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(features=_feature_rows, entities=_entity_rows)
def test_point_in_time_join_matches_brute_force(
    pit_ws: Any, features: list[Any], entities: list[Any]
) -> None:
    ws, path = pit_ws
    rows = [
        {
            "customer_id": k,
            "event_time": T0 + t * DAY,
            "created_at": None if c is None else T0 + c * DAY,
            "x": x + 1000 * i,  # distinct per row, so a wrong tie-break shows
        }
        for i, (k, t, c, x) in enumerate(features)
    ]
    table = pa.table(
        {
            "customer_id": pa.array([r["customer_id"] for r in rows], pa.int64()),
            "event_time": pa.array([r["event_time"] for r in rows], pa.timestamp("us", tz="UTC")),
            "created_at": pa.array([r["created_at"] for r in rows], pa.timestamp("us", tz="UTC")),
            "x": pa.array([r["x"] for r in rows], pa.float64()),
        }
    )
    write(table, path)
    entity_rows = [
        (k, T0 + t * DAY + timedelta(hours=h % 2 * 12)) for h, (k, t) in enumerate(entities)
    ]
    got = _get(ws, entity_rows)
    expected = []
    for k, when in entity_rows:
        best = reference_pit(rows, k, when, ttl=timedelta(days=7), created="created_at")
        expected.append(None if best is None else best["x"])
    assert got == expected
    # all entities as of one time agree with the same reference
    when = T0 + 15 * DAY
    snap = ws.features.get_features_as_of(when, features=["v:x"]).to_pandas()
    for k, x in zip(snap["customer_id"], snap["x"], strict=True):
        best = reference_pit(rows, k, when, ttl=timedelta(days=7), created="created_at")
        assert (None if pd.isna(x) else x) == (None if best is None else best["x"])
    assert set(snap["customer_id"]) == {r["customer_id"] for r in rows if r["event_time"] <= when}
