"""REST routes and UI pages of the registry, against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest

from shipyard.evaluation import Directional, Invariance, Suite
from shipyard.server import create_app
from tests._support import run_uvicorn
from tests.registry._models import churn_frame, fit_pipeline


@pytest.fixture(scope="module")
def frames() -> dict[str, Any]:
    df = churn_frame(700, seed=11)
    return {
        "train": df.iloc[:450].reset_index(drop=True),
        "test": df.iloc[450:].reset_index(drop=True),
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import shipyard as sy

    home = tmp_path_factory.mktemp("models-server")
    with sy.Workspace(home / "ws", project_file=str(home / "shipyard.toml")) as ws:
        yield ws


@pytest.fixture(scope="module")
def server(workspace: Any, frames: dict[str, Any]) -> Iterator[str]:
    """One server for the module; tests run in file order and build on each other."""
    train, test = frames["train"], frames["test"]
    X = train.drop(columns="churned")
    ws = workspace
    ws.models.register(
        "churn",
        fit_pipeline(train),
        datasets=[train],
        input_example=X.head(3),
        description="Churn risk for retention offers.",
    )
    ws.models.register("churn", fit_pipeline(train, c=0.01), input_example=X.head(3))
    suite = Suite(
        ["auc >= 0.7"],
        slices=["plan", "tenure"],
        latency_samples=20,
        behavioral=[
            Invariance("noise", perturb={"noise": {"tenure": 0.01}}, tolerance=0.02),
            Directional("calls", perturb={"add": {"calls": 2}}, direction="up"),
        ],
    )
    ws.models.promote("churn@1", suite=suite, dataset=test, target="churned")
    ws.evaluations.evaluate("churn@2", test, target="churned", suite=suite)
    ws.evaluations.set_success_criteria({"auc": ">= 0.7"})
    with run_uvicorn(create_app(ws)) as url:
        yield url


def test_rest_models_versions_aliases(server: str, frames: dict[str, Any]) -> None:
    api = f"{server}/api/v1"
    models = httpx.get(f"{api}/models").json()
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in models] == [
        ("churn", 2, {"champion": 1})
    ]
    v = httpx.get(f"{api}/models/churn/versions/champion").json()
    assert v["version"] == 1 and v["latest_evaluation"]["passed"] is True
    assert httpx.get(f"{api}/models/churn").json()["versions"][1]["version"] == 2
    r = httpx.put(f"{api}/models/churn/aliases/challenger", json={"version": 2, "reason": "shadow"})
    assert r.status_code == 200 and r.json()["to_version"] == 2
    hist = httpx.get(f"{api}/models/churn/aliases/history", params={"alias": "challenger"}).json()
    assert hist[0]["reason"] == "shadow"
    r = httpx.put(f"{api}/models/churn/aliases/challenger", json={"version": 9})
    assert r.status_code == 404 and "no such version" in r.json()["error"]["message"]
    r = httpx.get(f"{api}/models/nope")
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"
    r = httpx.delete(f"{api}/models/churn/versions/1")
    assert r.status_code == 409 and "alias champion points at it" in r.json()["error"]["message"]
    rows = frames["test"].drop(columns="churned").head(3).to_dict("records")
    pred = httpx.post(
        f"{api}/models/churn/versions/1/predict", json={"inputs": rows, "proba": True}
    ).json()
    assert len(pred["predictions"]) == 3 and len(pred["probabilities"][0]) == 2
    bad = httpx.post(f"{api}/models/churn/versions/1/predict", json={"inputs": [{"tenure": 1}]})
    assert bad.status_code == 422 and "missing column 'calls'" in bad.json()["error"]["message"]


def test_rest_evaluate_promote_gate_card(server: str, frames: dict[str, Any]) -> None:
    api = f"{server}/api/v1"
    records = frames["test"].to_dict("records")
    r = httpx.post(
        f"{api}/models/churn/versions/2/evaluate",
        json={
            "records": records,
            "target": "churned",
            "checks": ["auc >= 0.99"],
            "slices": ["plan"],
        },
        timeout=60,
    )
    assert r.status_code == 201, r.text
    assert r.json()["passed"] is False and r.json()["slices"][0]["column"] == "plan"
    r = httpx.post(
        f"{api}/models/churn/versions/2/promote",
        json={"alias": "champion", "checks": ["auc >= 0.99"]},
        timeout=60,
    )
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["type"] == "GateFailed" and "auc >= 0.99" in err["message"]
    assert any(not c["passed"] for c in err["details"]["checks"])
    r = httpx.post(
        f"{api}/models/churn/versions/2/promote",
        json={"alias": "champion", "checks": ["auc >= 0.99"], "force": True, "reason": "test"},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["forced"] is True
    assert [p["applied"] for p in httpx.get(f"{api}/models/churn/promotions").json()] == [
        True,
        False,
        True,
    ]
    md = httpx.get(f"{api}/models/churn/versions/1/card").text
    assert md.startswith("# Model card: churn@1") and "Churn risk for retention offers." in md
    assert httpx.get(
        f"{api}/models/churn/versions/1/card", params={"format": "html"}
    ).text.startswith("<!doctype html>")
    assert httpx.get(f"{api}/success-criteria").json() == {"auc": ">= 0.7"}
    r = httpx.put(f"{api}/success-criteria", json={"criteria": {"auc": "about 0.7"}})
    assert r.status_code == 422 and "cannot parse the check" in r.json()["error"]["message"]
    cmp = httpx.get(f"{api}/models/churn/compare", params={"a": "1", "b": "2"}).json()
    assert {row["metric"] for row in cmp["metrics"]} >= {"auc", "f1"}


def test_rest_upload_registers_a_file(server: str, tmp_path: Path, frames: dict[str, Any]) -> None:
    path = tmp_path / "m.joblib"
    joblib.dump(fit_pipeline(frames["train"]), path)
    r = httpx.post(
        f"{server}/api/v1/models/uploaded/versions/upload",
        params={"filename": "m.joblib"},
        content=path.read_bytes(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["flavor"] == "sklearn"
    r = httpx.post(
        f"{server}/api/v1/models/uploaded/versions/upload",
        params={"filename": "m.exe"},
        content=b"x",
    )
    assert r.status_code == 422 and "m.exe" in r.json()["error"]["message"]


def test_ui_pages(server: str, workspace: Any) -> None:
    page = httpx.get(f"{server}/models")
    assert page.status_code == 200 and "churn" in page.text and 'class="active"' in page.text
    m = workspace.models.get_model("churn")
    model_page = httpx.get(f"{server}/models/{m.id}").text
    assert "criteria-matrix" in model_page and "auc &gt;= 0.7" in model_page
    assert httpx.get(f"{server}/models/churn").status_code == 200  # by name too
    v = workspace.models.get("churn@1")
    vp = httpx.get(f"{server}/models/versions/{v.id}").text
    for part in (
        'id="signature"',
        'drawLineage("lineage"',
        "slice-plot",
        "Behavioral tests",
        'id="alias-history"',
        'id="card"',
    ):
        assert part in vp, part
    cmp = httpx.get(f"{server}/models/{m.id}/compare", params={"a": 1, "b": 2})
    assert (
        cmp.status_code == 200
        and "churn@1 vs churn@2" in cmp.text
        and "compare-metrics" in cmp.text
    )
    missing = httpx.get(
        f"{server}/models/versions/01ABCDEFGHJKMNPQRSTVWXYZ00", headers={"accept": "text/html"}
    )
    assert missing.status_code == 404


@pytest.mark.browser
def test_version_page_draws_lineage_and_slice_bars(server: str, workspace: Any, page: Any) -> None:
    v = workspace.models.get("churn@1")
    page.goto(f"{server}/models/versions/{v.id}")
    page.wait_for_selector("#lineage .main-svg", timeout=15_000)
    page.wait_for_selector(".slice-plot .main-svg", timeout=15_000)
    assert page.locator(".slice-plot").count() == 2  # plan and tenure
    labels = page.locator("#lineage text").evaluate_all("els => els.map(e => e.textContent)")
    assert "churn@1" in labels and "churn" in labels
    bars = page.locator(".slice-plot").first.locator("g.point").count()
    assert bars == 2  # basic and pro
    card = page.frame_locator("#card").locator("h1")
    assert card.inner_text(timeout=15_000) == "Model card: churn@1"
    assert page.console_errors == []
