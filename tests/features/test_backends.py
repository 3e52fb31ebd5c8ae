"""The whole flow on each workspace backend (SQLite + local, PostgreSQL + S3), with dataset
sources, an S3 Parquet source and a training set committed as a dataset version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import shipyard as sy
from tests.features._data import FEATURES, T0, churn_table, reference_pit

DAY = timedelta(days=1)


def test_dataset_sources_training_set_commit_and_lineage(ws: Any) -> None:
    table = churn_table(30, 8, seed=11)
    feats = ws.datasets.commit("churn_features", table, message="features")
    rng_rows = [
        {"customer_id": k, "event_timestamp": T0 + (50 + 7 * k) * DAY, "label": k % 2}
        for k in range(30)
    ]
    labels = ws.datasets.commit("churn_labels", pd.DataFrame(rng_rows))
    customer = sy.Entity("customer", join_keys=["customer_id"])
    view = sy.FeatureView("churn", entities=[customer], source="churn_features", features=FEATURES)
    svc = sy.FeatureService("churn_model", features=[view])
    ws.features.apply([customer, view, svc])
    registered = ws.features.get_view("churn")
    assert registered.source == "churn_features@1"  # pinned to the version applied
    assert registered.dataset_version_id == feats.id
    up = ws.lineage.upstream(registered, depth=1)
    assert feats.lineage_node.key in up.nodes
    assert any(e.relation == "source_of" for e in up.edges)

    ts = ws.features.get_historical_features("churn_labels@1", "churn_model")
    df = ts.to_pandas()
    rows = table.to_pylist()
    for r in df.to_dict("records"):
        best = reference_pit(rows, r["customer_id"], r["event_timestamp"])
        assert r["f0"] == (None if best is None else best["f0"]) or (
            best is None and pd.isna(r["f0"])
        )
    dv = ts.commit("churn_training")
    up = ws.lineage.upstream(dv, depth=1)
    assert registered.lineage_node.key in up.nodes
    assert ws.features.get_service("churn_model").lineage_node.key in up.nodes
    assert labels.lineage_node.key in up.nodes
    assert ws.datasets.get("churn_training").to_arrow().num_rows == 30

    ws.features.materialize(None, T0 + 400 * DAY)
    online = ws.features.get_online_features("churn_model", [{"customer_id": 3}])
    best = reference_pit(rows, 3, T0 + 400 * DAY, upper_inclusive=False)
    assert best is not None and online.values[0]["f2"] == best["f2"]


@pytest.mark.s3
def test_parquet_source_on_s3(s3_endpoint: str, s3_bucket: str, tmp_path: Any) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint})
    table = churn_table(10, 5, seed=2)
    with fs.open(f"{s3_bucket}/feat/part-0.parquet", "wb") as f:
        pq.write_table(table, f)
    with sy.Workspace(tmp_path / "ws", s3_endpoint_url=s3_endpoint) as ws:
        customer = sy.Entity("customer", join_keys=["customer_id"])
        view = sy.FeatureView(
            "churn", entities=[customer], source=f"s3://{s3_bucket}/feat/", features=FEATURES
        )
        ws.features.apply([customer, view])
        when = T0 + 200 * DAY
        got = ws.features.get_features_as_of(when, features=["churn:f1"]).to_pandas()
        rows = table.to_pylist()
        for k, v in zip(got["customer_id"], got["f1"], strict=True):
            best = reference_pit(rows, k, when)
            assert best is not None and v == best["f1"]
