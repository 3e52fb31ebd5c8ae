"""The model server fills a model's columns from a feature service's online store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.serving import create_server
from tests._support import run_uvicorn

T0 = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, pd.DataFrame]]:
    """A model on (spend, visits, plan); spend and visits live in the online store."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    home = tmp_path_factory.mktemp("features-serving")
    rng = np.random.default_rng(0)
    n = 50
    activity = pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "event_time": T0,
            "spend": rng.normal(50, 10, n),
            "visits": rng.integers(0, 20, n),
        }
    )
    plans = np.array(["basic", "pro"])[rng.integers(0, 2, n)]
    ws = sy.Workspace(home / "ws", project_file=str(home / "shipyard.toml"))
    ws.datasets.commit("activity", activity)
    customer = sy.Entity("customer", join_keys=["customer_id"])
    view = sy.FeatureView(
        "activity",
        entities=[customer],
        source="activity",
        features=[sy.Feature("spend", "float64"), sy.Feature("visits", "int64")],
        ttl=timedelta(days=3650),
    )
    service = sy.FeatureService("scorer", features=[view])
    ws.features.apply([customer, view, service])
    ws.features.materialize(None, T0 + timedelta(days=1), ["activity"])

    X = activity[["spend", "visits"]].assign(plan=plans)
    y = (X["spend"] > 50).astype(int)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y)
    ws.models.register("scorer", model, input_example=X.head(3))
    app = create_server(ws, ["scorer@1"], features={"scorer": "scorer"}, watch_interval_s=None)
    with run_uvicorn(app) as base:
        yield base, model, X.assign(customer_id=activity["customer_id"])
    ws.close()


def test_records_with_only_the_entity_key_are_completed_online(served: Any) -> None:
    url, model, X = served
    records = X[["customer_id", "plan"]].head(5).to_dict("records")
    r = httpx.post(f"{url}/v1/models/scorer/predict", json=records)
    assert r.status_code == 200, r.text
    expected = model.predict(X[["spend", "visits", "plan"]].head(5))
    assert r.json()["predictions"] == expected.tolist()


def test_values_in_the_request_win_over_the_store(served: Any) -> None:
    url, model, X = served
    rec = {"customer_id": X.customer_id[0], "plan": X.plan[0], "spend": 1000.0}
    r = httpx.post(f"{url}/v1/models/scorer/predict", json=[rec])
    assert r.status_code == 200, r.text
    row = pd.DataFrame([{"spend": 1000.0, "visits": X.visits[0], "plan": X.plan[0]}])
    assert r.json()["predictions"] == model.predict(row).tolist()


def test_missing_key_or_unknown_entity_is_a_400_naming_it(served: Any) -> None:
    url, _, _ = served
    r = httpx.post(f"{url}/v1/models/scorer/predict", json=[{"plan": "pro"}])
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["details"]["field"] == "customer_id" and "customer_id" in err["message"]
    r = httpx.post(f"{url}/v1/models/scorer/predict", json=[{"customer_id": "C999", "plan": "pro"}])
    assert r.status_code == 400
    msg = r.json()["error"]["message"]
    assert "C999" in msg and "not_found" in msg and "materialize" in msg


def test_an_unknown_feature_service_fails_the_start(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    from shipyard.serving._server import ModelServer
    from tests._support import run_async

    with sy.Workspace(tmp_path / "ws") as ws:
        X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
        ws.models.register("m", LinearRegression().fit(X, [1, 2, 3]), input_example=X)
        server = ModelServer(ws, ["m@1"], features={"m": "nope"}, watch_interval_s=None)
        with pytest.raises(sy.core.NotFound, match="nope"):
            run_async(server.startup())
        run_async(server.shutdown())
