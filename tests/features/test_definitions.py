"""Applying definitions: versions, lineage, and every refused input with its message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.core import Conflict, InvalidInput, NotFound
from shipyard.features.tables import feature_services, feature_views
from tests.features._data import FEATURES, T0, write


def _count(ws: Any, table: sa.Table) -> int:
    with ws.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_apply_registers_versions_and_is_idempotent(
    sqlite_ws: Any, churn_source: str, customer: sy.Entity
) -> None:
    view = sy.FeatureView(
        "churn", entities=[customer], source=churn_source, features=FEATURES[:3], tags={"team": "a"}
    )
    first = sqlite_ws.features.apply([customer, view])
    assert [(a.kind, a.status, a.version) for a in first] == [
        ("entity", "created", None),
        ("feature_view", "created", 1),
    ]
    again = sqlite_ws.features.apply([customer, view])
    assert [a.status for a in again] == ["unchanged", "unchanged"]
    wider = sy.FeatureView("churn", entities=["customer"], source=churn_source, features=FEATURES)
    (applied,) = sqlite_ws.features.apply([wider])
    assert (applied.status, applied.version) == ("updated", 2)
    assert sqlite_ws.features.get_view("churn").version == 2
    assert sqlite_ws.features.get_view("churn@1").feature_names == FEATURES[:3]
    assert [v.version for v in sqlite_ws.features.view_versions("churn")] == [1, 2]
    assert sqlite_ws.features.get_view("churn").spec["key_types"] == {"customer_id": "int"}


def test_changing_a_feature_type_is_refused(
    sqlite_ws: Any, churn_source: str, customer: sy.Entity
) -> None:
    view = sy.FeatureView("churn", entities=[customer], source=churn_source, features=FEATURES)
    sqlite_ws.features.apply([customer, view])
    changed = sy.FeatureView(
        "churn",
        entities=[customer],
        source=churn_source,
        features=[sy.Feature("f0", "float32"), *FEATURES[1:]],
    )
    with pytest.raises(
        Conflict, match=r"'f0' changes type from float64 to float32.*new feature name"
    ):
        sqlite_ws.features.apply([changed])
    assert _count(sqlite_ws, feature_views) == 1


def test_changing_join_keys_is_refused(tmp_path: Path, sqlite_ws: Any, churn_source: str) -> None:
    customer = sy.Entity("customer", join_keys=["customer_id"])
    sqlite_ws.features.apply([customer])
    with pytest.raises(Conflict, match="entity 'customer' already has join keys"):
        sqlite_ws.features.apply([sy.Entity("customer", join_keys=["f0"])])


def test_removing_a_feature_a_service_uses_is_refused(
    sqlite_ws: Any, churn_source: str, customer: sy.Entity
) -> None:
    view = sy.FeatureView("churn", entities=[customer], source=churn_source, features=FEATURES)
    svc = sy.FeatureService("model_a", features=["churn:f0", "churn:f4"])
    sqlite_ws.features.apply([customer, view, svc])
    smaller = sy.FeatureView(
        "churn", entities=[customer], source=churn_source, features=FEATURES[:3]
    )
    with pytest.raises(Conflict, match=r"removing \['f3', 'f4'\].*model_a uses f4"):
        sqlite_ws.features.apply([smaller])
    assert sqlite_ws.features.get_view("churn").version == 1


def test_source_lacking_a_declared_column_is_refused_and_nothing_is_written(
    sqlite_ws: Any, churn_source: str, customer: sy.Entity
) -> None:
    good = sy.FeatureView("good", entities=[customer], source=churn_source, features=["f0"])
    bad = sy.FeatureView(
        "bad", entities=[customer], source=churn_source, features=["f0", "tenure_days"]
    )
    with pytest.raises(
        InvalidInput, match=r"feature view 'bad'.*no column 'tenure_days'.*columns:"
    ):
        sqlite_ws.features.apply([customer, good, bad])
    assert _count(sqlite_ws, feature_views) == 0
    assert sqlite_ws.features.entities() == {}


def test_type_mismatch_on_apply(tmp_path: Path, sqlite_ws: Any, customer: sy.Entity) -> None:
    src = write(
        pd.DataFrame(
            {"customer_id": [1, 2], "event_time": pd.to_datetime([T0, T0]), "plan": ["a", "b"]}
        ),
        tmp_path / "plans.parquet",
    )
    view = sy.FeatureView(
        "plans", entities=[customer], source=src, features=[sy.Feature("plan", "float64")]
    )
    with pytest.raises(
        InvalidInput,
        match=r"'plan' is declared float64 but the source column is (large_)?string.*'string'",
    ):
        sqlite_ws.features.apply([customer, view])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timestamp": "ts"}, r"no column 'ts' \(timestamp\)"),
        ({"timestamp": "f0"}, r"timestamp column 'f0' is double, not a timestamp"),
        ({"created_timestamp": "f1"}, r"created timestamp column 'f1'"),
    ],
)
def test_bad_timestamp_columns(
    sqlite_ws: Any, churn_source: str, customer: sy.Entity, kwargs: dict[str, str], message: str
) -> None:
    view = sy.FeatureView("v", entities=[customer], source=churn_source, features=["f2"], **kwargs)
    with pytest.raises(InvalidInput, match=message):
        sqlite_ws.features.apply([customer, view])


def test_unknown_entity_missing_source_and_bad_definitions(
    tmp_path: Path, sqlite_ws: Any, churn_source: str
) -> None:
    view = sy.FeatureView("v", entities=["nobody"], source=churn_source, features=["f0"])
    with pytest.raises(NotFound, match=r"entity 'nobody', which is not registered"):
        sqlite_ws.features.apply([view])
    sqlite_ws.features.apply([sy.Entity("customer", join_keys=["customer_id"])])
    missing = sy.FeatureView(
        "v", entities=["customer"], source=str(tmp_path / "nope.parquet"), features=["f0"]
    )
    with pytest.raises(NotFound, match=r"source '.*nope.parquet' has no Parquet files"):
        sqlite_ws.features.apply([missing])
    with pytest.raises(InvalidInput, match="unknown feature type 'complex'"):
        sy.Feature("x", "complex")
    with pytest.raises(InvalidInput, match="declares feature\\(s\\) twice: f0"):
        sy.FeatureView("v", entities=["customer"], source=churn_source, features=["f0", "f0"])
    with pytest.raises(InvalidInput, match="ttl must be a positive timedelta"):
        sy.FeatureView(
            "v", entities=["customer"], source=churn_source, features=["f0"], ttl=timedelta(0)
        )
    with pytest.raises(InvalidInput, match="invalid feature view name"):
        sy.FeatureView("bad name", entities=["customer"], source=churn_source, features=["f0"])


def test_services_are_versioned_and_record_lineage(churn_ws: Any) -> None:
    fs = churn_ws.features
    (a,) = fs.apply([sy.FeatureService("model_a", features=["churn:f0", "churn:f1"])])
    assert (a.status, a.version) == ("created", 1)
    (b,) = fs.apply([sy.FeatureService("model_a", features=["churn:f0", "churn:f1"])])
    assert b.status == "unchanged"
    (c,) = fs.apply([sy.FeatureService("model_a", features=["churn"])])
    assert (c.status, c.version) == ("updated", 2)
    svc = fs.get_service("model_a")
    assert svc.features == [f"churn@1:{f}" for f in FEATURES]
    assert fs.get_service("model_a@1").features == ["churn@1:f0", "churn@1:f1"]
    view = fs.get_view("churn")
    down = churn_ws.lineage.downstream(view, depth=1)
    assert svc.lineage_node.key in down.nodes
    assert any(e.relation == "member_of" for e in down.edges)
    with pytest.raises(NotFound, match=r"feature view churn@1 has no feature 'nope'"):
        fs.apply([sy.FeatureService("model_b", features=["churn:nope"])])
    with pytest.raises(NotFound, match=r"no feature service 'model_z'.*known: model_a"):
        fs.get_service("model_z")
    with pytest.raises(NotFound, match=r"no feature view 'nope'.*known: churn"):
        fs.get_view("nope")
    assert _count(churn_ws, feature_services) == 2


def test_definitions_file(tmp_path: Path, churn_source: str) -> None:
    path = tmp_path / "defs.py"
    path.write_text(
        "import shipyard as sy\n"
        "customer = sy.Entity('customer', join_keys=['customer_id'])\n"
        f"churn = sy.FeatureView('churn', entities=[customer], source={churn_source!r},"
        " features=['f0'])\n"
        "services = [sy.FeatureService('m', features=[churn])]\n"
    )
    defs = sy.features.load_definitions(str(path))
    assert [type(d).__name__ for d in defs] == ["Entity", "FeatureView", "FeatureService"]
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(InvalidInput, match="defines no Entity"):
        sy.features.load_definitions(str(empty))
