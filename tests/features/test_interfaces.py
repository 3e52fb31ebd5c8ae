"""The CLI, the REST API (real uvicorn) and the web pages of the feature store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli import app
from shipyard.cli._common import reset_state
from shipyard.server import create_app
from tests._support import run_uvicorn
from tests.features._data import FEATURES, T0, churn_table, reference_pit, write

DAY = timedelta(days=1)
runner = CliRunner()


def cli(home: str, *args: str) -> Any:
    reset_state()
    return runner.invoke(app, ["--home", home, *args])


def test_cli_apply_ls_show_materialize_get(tmp_path: Path) -> None:
    table = churn_table(20, 5, seed=4)
    src = write(table, tmp_path / "churn.parquet")
    defs = tmp_path / "defs.py"
    defs.write_text(
        "from datetime import timedelta\n"
        "import shipyard as sy\n"
        "customer = sy.Entity('customer', join_keys=['customer_id'])\n"
        f"churn = sy.FeatureView('churn', entities=[customer], source={src!r},\n"
        f"    features={FEATURES!r}, ttl=timedelta(days=3650))\n"
        "svc = sy.FeatureService('churn_model', features=['churn:f0', 'churn:f1'])\n"
    )
    home = str(tmp_path / "ws")
    r = cli(home, "features", "apply", str(defs))
    assert r.exit_code == 0, r.output
    assert "churn" in r.stdout and "created" in r.stdout
    r = cli(home, "features", "ls")
    assert r.exit_code == 0 and "churn@1" in r.stdout and "churn_model@1" in r.stdout
    r = cli(home, "features", "materialize", "--end", "2027-01-01")
    assert r.exit_code == 0, r.output
    assert "20" in r.stdout
    r = cli(home, "features", "materialize", "--end", "2027-01-01", "--incremental")
    assert r.exit_code == 0 and "up to date" in r.stdout
    r = cli(home, "features", "get", "-e", "customer_id=4", "-s", "churn_model", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    best = reference_pit(table.to_pylist(), 4, T0 + 400 * DAY)
    assert best is not None
    assert data["results"][0]["values"]["f0"] == pytest.approx(best["f0"])
    assert data["results"][0]["status"]["f1"] == "present"
    r = cli(home, "features", "show", "churn", "--json")
    assert r.exit_code == 0
    shown = json.loads(r.stdout)
    assert shown["freshness"][0]["rows"] == 100 and len(shown["materializations"]) == 1
    r = cli(home, "features", "show", "churn")
    assert r.exit_code == 0 and "f4" in r.stdout
    r = cli(home, "info", "--json")
    assert json.loads(r.stdout)["online_store"]["backend"] == "sqlite"
    # bad input: a clear message, exit code 1, no traceback
    r = cli(home, "features", "get", "-e", "customer_id=4", "-f", "churn:nope")
    assert r.exit_code == 1 and "has no feature 'nope'" in r.output
    r = cli(home, "features", "materialize", "--end", "yesterday-ish")
    assert r.exit_code == 1 and "invalid --end 'yesterday-ish'" in r.output
    r = cli(home, "features", "get", "-e", "customer_id", "-s", "churn_model")
    assert r.exit_code == 1 and "write KEY=VALUE" in r.output


@pytest.fixture
def server(churn_ws: Any) -> Iterator[str]:
    churn_ws.features.apply([sy.FeatureService("churn_model", features=["churn:f0", "churn:f2"])])
    churn_ws.lineage.record(
        churn_ws.features.get_service("churn_model"),
        sy.Node("model_version", "M1", "churn-clf@1"),
        "consumed_by",
    )
    with run_uvicorn(create_app(churn_ws)) as url:
        yield url


def test_rest_api(server: str) -> None:
    views = httpx.get(f"{server}/api/v1/features/views").json()["views"]
    assert [v["ref"] for v in views] == ["churn@1"]
    view = httpx.get(f"{server}/api/v1/features/views/churn").json()
    assert view["versions"] == [1] and view["join_keys"] == ["customer_id"]
    r = httpx.post(
        f"{server}/api/v1/features/materialize", json={"end": "2027-01-01T00:00:00Z"}, timeout=30
    )
    assert r.status_code == 200 and r.json()["materializations"][0]["entities"] == 50
    r = httpx.post(
        f"{server}/api/v1/features/online",
        json={
            "feature_service": "churn_model",
            "entities": [{"customer_id": 1}, {"customer_id": 999}],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["features"] == ["f0", "f2"]
    assert body["results"][1]["status"] == {"f0": "not_found", "f2": "not_found"}
    assert body["results"][0]["entity"] == {"customer_id": 1}
    fresh = httpx.get(f"{server}/api/v1/features/views/churn/freshness").json()
    assert fresh["rows"] == 1000 and fresh["materialized_until"].startswith("2027-01-01")
    stats = httpx.get(f"{server}/api/v1/features/views/churn/statistics").json()
    assert {c["name"] for c in stats["columns"]} == set(FEATURES)
    assert httpx.get(f"{server}/api/v1/features/services/churn_model").json()["version"] == 1
    # errors: JSON with type and message
    r = httpx.post(
        f"{server}/api/v1/features/online",
        json={"features": ["churn:nope"], "entities": [{"customer_id": 1}]},
    )
    assert r.status_code == 404 and "has no feature 'nope'" in r.json()["error"]["message"]
    r = httpx.post(f"{server}/api/v1/features/online", json={"entities": [{"customer_id": 1}]})
    assert r.status_code == 422 and "exactly one of" in r.json()["error"]["message"]
    r = httpx.post(
        f"{server}/api/v1/features/online",
        json={"features": ["churn:f0"], "entities": [{"customer_id": "abc"}]},
    )
    assert r.status_code == 422 and "must be an integer" in r.json()["error"]["message"]
    assert httpx.get(f"{server}/api/v1/features/views/nope").status_code == 404


def test_ui_pages(server: str, churn_ws: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    churn_ws.features.materialize(None, T0 + 400 * DAY)
    page = httpx.get(f"{server}/features")
    assert page.status_code == 200
    assert "churn@1" in page.text and "churn_model@1" in page.text and "sqlite" in page.text
    view = churn_ws.features.get_view("churn")
    page = httpx.get(f"{server}/features/{view.id}", timeout=30)
    assert page.status_code == 200
    text = page.text
    for expected in (
        "Schema",
        "f4",
        "float64",
        "Distributions",
        "Lineage",
        "churn-clf@1",
        "Materializations",
    ):
        assert expected in text, expected
    assert 'class="active"' in text or "active" in text
    svc = churn_ws.features.get_service("churn_model")
    page = httpx.get(f"{server}/features/services/{svc.id}")
    assert page.status_code == 200 and "churn@1" in page.text
    churn_ws.features.apply(
        [
            sy.OnDemandFeatureView(
                "doubled", inputs=["churn:f0"], features=["f0x2"], function=_double
            )
        ]
    )
    od = churn_ws.features.get_view("doubled")
    page = httpx.get(f"{server}/features/{od.ref}")
    assert page.status_code == 200
    assert "def _double" in page.text and "churn@1:f0" in page.text
    assert httpx.get(f"{server}/features/nope").status_code == 404
    # a view whose source disappeared is flagged, and the other views still show
    gone = tmp_path_factory.mktemp("gone") / "gone.parquet"
    write(churn_table(3, 2), gone)
    churn_ws.features.apply(
        [sy.FeatureView("gone", entities=["customer"], source=str(gone), features=["f0"])]
    )
    gone.unlink()
    page = httpx.get(f"{server}/features")
    assert (
        page.status_code == 200 and "has no Parquet files" in page.text and "churn@1" in page.text
    )


def _double(c: dict[str, Any]) -> dict[str, Any]:
    return {"f0x2": c["f0"] * 2}
