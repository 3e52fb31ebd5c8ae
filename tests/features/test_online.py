"""Materialization and online lookup, on every online store backend (SQLite, Redis, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.core import ConfigurationError, InvalidInput
from shipyard.features import BACKENDS, NOT_FOUND, OUTSIDE_TTL, PRESENT
from tests.features._data import FEATURES, T0, churn_table, reference_pit, write

DAY = timedelta(days=1)


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A SQLite workspace whose online store is each backend in turn."""
    options: dict[str, Any] = {"online_store": request.param}
    if request.param == "redis":
        options["online_store_url"] = request.getfixturevalue("redis_url")
    elif request.param == "postgres":
        options["online_store_url"] = request.getfixturevalue("pg_url")
    with sy.Workspace(tmp_path / "ws", **options) as ws:
        yield ws
        for v in ws.features.list_views():
            ws.features.online_store.delete_view(v.id)


def _apply(ws: Any, source: str, **kw: Any) -> Any:
    customer = sy.Entity("customer", join_keys=["customer_id"])
    view = sy.FeatureView("churn", entities=[customer], source=source, features=FEATURES, **kw)
    ws.features.apply([customer, view])
    return ws.features.get_view("churn")


def _online(ws: Any, keys: list[int], feats: list[str] | None = None) -> Any:
    return ws.features.get_online_features(
        feats or [f"churn:{f}" for f in FEATURES], [{"customer_id": k} for k in keys]
    )


def test_store_contract_keeps_the_newest_record(store_ws: Any) -> None:
    store = store_ws.features.online_store
    assert store.name == store_ws.settings.online_store
    assert store_ws.info()["online_store"]["backend"] == store.name
    vid = sy.core.new_id()
    try:
        assert store.write(vid, [("1", 10, 0, b"[1]"), ("2", 10, 0, b"[2]")]) >= 2
        store.write(vid, [("1", 5, 99, b"[old]")])  # older event: ignored
        store.write(vid, [("2", 10, 1, b"[newer-created]")])  # same event, newer created
        store.write(vid, [("3", -(10**12), 0, b"[pre-1970]")])
        found = store.read([(vid, "1"), (vid, "2"), (vid, "3"), (vid, "404"), ("other", "1")])
        assert found == {
            (vid, "1"): (10, b"[1]"),
            (vid, "2"): (10, b"[newer-created]"),
            (vid, "3"): (-(10**12), b"[pre-1970]"),
        }
        assert store.count(vid) == 3
    finally:
        store.delete_view(vid)
    assert store.read([(vid, "1")]) == {}


def test_materialize_window_is_start_inclusive_end_exclusive(store_ws: Any, tmp_path: Path) -> None:
    rows = [
        {"customer_id": 1, "event_time": T0, "f": 0.0},
        {"customer_id": 1, "event_time": T0 + DAY, "f": 1.0},  # == start: included
        {"customer_id": 1, "event_time": T0 + 2 * DAY, "f": 2.0},  # == end: excluded
        {"customer_id": 2, "event_time": T0 + 2 * DAY, "f": 9.0},  # only at end: excluded
        {"customer_id": 3, "event_time": T0 + DAY - timedelta(microseconds=1), "f": 3.0},
    ]
    src = write(
        pd.DataFrame(rows).assign(**{f: lambda d: d["f"] for f in FEATURES}).drop(columns="f"),
        tmp_path / "w.parquet",
    )
    _apply(store_ws, src)
    (m,) = store_ws.features.materialize(T0 + DAY, T0 + 2 * DAY)
    assert (m.entities, m.start, m.end) == (1, T0 + DAY, T0 + 2 * DAY)
    r = _online(store_ws, [1, 2, 3], ["churn:f0"])
    assert [v["f0"] for v in r.values] == [1.0, None, None]
    assert [s["f0"] for s in r.status] == [PRESENT, NOT_FOUND, NOT_FOUND]
    with pytest.raises(InvalidInput, match=r"window is empty: start .* is not before end"):
        store_ws.features.materialize(T0 + DAY, T0 + DAY)


def test_incremental_runs_neither_skip_nor_duplicate(store_ws: Any, tmp_path: Path) -> None:
    table = churn_table(40, 15, seed=3)
    src = write(table, tmp_path / "c.parquet")
    _apply(store_ws, src)
    rows = table.to_pylist()
    ends = [T0 + 60 * DAY, T0 + 200 * DAY, T0 + 200 * DAY, T0 + 400 * DAY]
    previous_end = None
    for end in ends:
        (m,) = store_ws.features.materialize_incremental(end)
        if previous_end is not None and end <= previous_end:
            assert m.skipped and m.entities == 0
        else:
            assert m.start == previous_end and m.end == end
            previous_end = end
        got = _online(store_ws, list(range(41)))
        for k, values in enumerate(got.values):
            best = reference_pit(rows, k, end, upper_inclusive=False)
            assert values["f0"] == (None if best is None else best["f0"]), (k, end)
    runs = store_ws.features.materializations("churn")
    assert len(runs) == 3  # the repeated end wrote nothing
    spans = sorted((r["start"], r["end"]) for r in runs if r["start"] is not None)
    assert spans[0][0] == ends[0] and spans[0][1] == spans[1][0]  # contiguous windows
    # replaying an old window never overwrites newer values
    store_ws.features.materialize(None, ends[0])
    again = _online(store_ws, list(range(40)))
    assert again.values == got.values[:40]


def test_statuses_present_not_found_outside_ttl(store_ws: Any, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    rows = [
        {"customer_id": 1, "event_time": now - DAY},
        {"customer_id": 2, "event_time": now - 40 * DAY},
    ]
    df = pd.DataFrame(rows)
    for i, f in enumerate(FEATURES):
        df[f] = [float(i), float(10 + i)]
    _apply(store_ws, write(df, tmp_path / "s.parquet"), ttl=timedelta(days=30))
    store_ws.features.materialize(None, now + DAY)
    r = _online(store_ws, [1, 2, 3])
    assert r.values[0] == {f: float(i) for i, f in enumerate(FEATURES)}
    assert set(r.status[0].values()) == {PRESENT}
    assert r.values[1] == dict.fromkeys(FEATURES)
    assert set(r.status[1].values()) == {OUTSIDE_TTL}
    assert set(r.status[2].values()) == {NOT_FOUND}
    matrix = r.to_numpy()
    assert matrix.shape == (3, 5) and matrix[0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert np.isnan(matrix[1:]).all()
    assert r.to_dict()["results"][0]["entity"] == {"customer_id": 1}
    # on-demand features inherit the status of their inputs
    store_ws.features.apply(
        [
            sy.OnDemandFeatureView(
                "double",
                inputs=["churn:f1"],
                features=["f1x2"],
                function=lambda c: {"f1x2": c["f1"] * 2},
            )
        ]
    )
    od = store_ws.features.get_online_features(
        ["double:f1x2"], [{"customer_id": k} for k in (1, 2, 3)]
    )
    assert [v["f1x2"] for v in od.values] == [2.0, None, None]
    assert [s["f1x2"] for s in od.status] == [PRESENT, OUTSIDE_TTL, NOT_FOUND]
    # join keys given as text (CLI, query strings) find the same rows
    r2 = store_ws.features.get_online_features(["churn:f1"], [{"customer_id": "1"}])
    assert r2.values == [{"f1": 1.0}]
    with pytest.raises(InvalidInput, match="lacks join key 'customer_id'"):
        store_ws.features.get_online_features(["churn:f1"], [{"id": 1}])
    with pytest.raises(InvalidInput, match="join key 'customer_id' must be an integer, got 'x'"):
        store_ws.features.get_online_features(["churn:f1"], [{"customer_id": "x"}])


def test_online_values_equal_offline_without_ttl(tmp_path: Path, sqlite_ws: Any) -> None:
    table = churn_table(30, 10, seed=5)
    src = write(table, tmp_path / "n.parquet")
    _apply(sqlite_ws, src)
    fs = sqlite_ws.features
    fs.apply(
        [
            sy.OnDemandFeatureView(
                "spend",
                inputs=["churn:f0", "churn:f2"],
                request=["amount"],
                features=["per_unit"],
                function=lambda c: {"per_unit": c["amount"] * c["f0"] / (1 + c["f2"])},
            ),
            sy.FeatureService("m", features=["churn:f1", "spend"]),
        ]
    )
    end = T0 + 400 * DAY
    fs.materialize(None, end)
    keys = list(range(30))
    online = fs.get_online_features("m", [{"customer_id": k, "amount": 3.0} for k in keys])
    entity = pd.DataFrame(
        {
            "customer_id": keys,
            "event_timestamp": [end - timedelta(microseconds=1)] * len(keys),
            "amount": [3.0] * len(keys),
        }
    )
    offline = fs.get_historical_features(entity, "m").to_pandas()
    assert [v["f1"] for v in online.values] == offline["f1"].tolist()
    assert [v["per_unit"] for v in online.values] == pytest.approx(offline["per_unit"].tolist())
    assert online.to_pandas()["per_unit"].tolist() == pytest.approx(offline["per_unit"].tolist())
    with pytest.raises(InvalidInput, match="needs request field 'amount'"):
        fs.get_online_features("m", [{"customer_id": 1}])


def test_unknown_online_store_is_a_configuration_error(tmp_path: Path) -> None:
    with (
        sy.Workspace(tmp_path / "ws", online_store="cassandra") as ws,
        pytest.raises(ConfigurationError, match="unknown online store 'cassandra'"),
    ):
        ws.features.online_store  # noqa: B018
    assert sorted(BACKENDS) == ["postgres", "redis", "sqlite"]
    with (
        sy.Workspace(tmp_path / "ws2", online_store="postgres") as ws,
        pytest.raises(ConfigurationError, match="needs a PostgreSQL URL"),
    ):
        ws.features.online_store  # noqa: B018


def test_materialize_refuses_offline_views(churn_ws: Any, churn_source: str) -> None:
    churn_ws.features.apply(
        [
            sy.FeatureView(
                "off", entities=["customer"], source=churn_source, features=["f0"], online=False
            )
        ]
    )
    with pytest.raises(InvalidInput, match="feature view off@1 is not online"):
        churn_ws.features.materialize(None, T0, ["off"])
    results = churn_ws.features.materialize(None, T0 + 400 * DAY)
    assert [r.view for r in results] == ["churn@1"]
    assert results[0].entities == 50


def test_last_n_values_for_sequence_features(store_ws: Any, tmp_path: Path) -> None:
    rows = []
    for k in range(4):
        for t in range(6):
            rows.append({"customer_id": k, "event_time": T0 + t * DAY, "f0": float(10 * k + t)})
    rows.append({"customer_id": 0, "event_time": T0 + 2 * DAY, "f0": 99.0})  # correction at t=2
    src = write(pd.DataFrame(rows), tmp_path / "seq.parquet")
    customer = sy.Entity("customer", join_keys=["customer_id"])
    view = sy.FeatureView("seq", entities=[customer], source=src, features=["f0"], history=3)
    store_ws.features.apply([customer, view])
    fs = store_ws.features
    fs.materialize_incremental(T0 + 3 * DAY)  # t = 0, 1, 2
    hist = fs.get_online_history("seq", [{"customer_id": 0}, {"customer_id": 9}])
    assert [e["f0"] for e in hist[0]] == [99.0, 1.0, 0.0]
    assert hist[0][0]["event_time"] == T0 + 2 * DAY
    assert hist[1] == []
    fs.materialize_incremental(T0 + 5 * DAY)  # t = 3, 4: the history spans both windows
    hist = fs.get_online_history("seq", [{"customer_id": k} for k in range(4)], limit=2)
    assert [[e["f0"] for e in h] for h in hist] == [
        [4.0, 3.0],
        [14.0, 13.0],
        [24.0, 23.0],
        [34.0, 33.0],
    ]
    full = fs.get_online_history("seq", [{"customer_id": 1}])
    assert [e["f0"] for e in full[0]] == [14.0, 13.0, 12.0]
    latest = fs.get_online_features(["seq:f0"], [{"customer_id": 1}])
    assert latest.values == [{"f0": 14.0}]
    plain = sy.FeatureView("plain", entities=[customer], source=src, features=["f0"])
    fs.apply([plain])
    with pytest.raises(InvalidInput, match="keeps no history online"):
        fs.get_online_history("plain", [{"customer_id": 1}])
    with pytest.raises(InvalidInput, match="history must be an integer from 1 to 1000"):
        sy.FeatureView("x", entities=[customer], source=src, features=["f0"], history=0)
