"""REST API and UI pages of tracking against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.server import create_app
from tests._support import run_uvicorn


@pytest.fixture
def server(sqlite_ws: Any) -> Iterator[tuple[str, Any]]:
    with run_uvicorn(create_app(sqlite_ws)) as url:
        yield url, sqlite_ws


def _seed(ws: Any, tmp_path: Any = None) -> list[Any]:
    runs = []
    for i, model in enumerate(["rf", "gbm", "lr"]):
        with ws.start_run(
            experiment="churn",
            name=f"m{i}",
            params={"model": model, "depth": i + 2},
            tags={"team": "risk"},
            capture_env=False,
        ) as run:
            for step in range(3000):
                run.log_metric("val/loss", 1.0 / (step + 1) + i, step=step)
            run.log_metric("auc", 0.7 + i / 10)
            run.log_text("hello", "notes/readme.txt")
        runs.append(run)
    return runs


def test_rest_run_lifecycle_and_batches(server: tuple[str, Any]) -> None:
    url, _ = server
    c = httpx.Client(base_url=url)
    r = c.post("/api/v1/experiments", json={"name": "api", "description": "from REST"})
    assert r.status_code == 201 and r.json()["name"] == "api"
    assert c.post("/api/v1/experiments", json={"name": "api"}).status_code == 409
    r = c.post("/api/v1/runs", json={"experiment": "api", "name": "r1", "params": {"lr": 0.1}})
    assert r.status_code == 201
    rid = r.json()["id"]
    batch = {
        "metrics": [{"key": "loss", "value": 1.0 / (s + 1), "step": s} for s in range(100)]
        + [{"key": "odd", "value": "NaN"}, {"key": "odd", "value": "Infinity"}],
        "params": {"model": "rf"},
        "tags": {"source": "rest"},
    }
    r = c.post(f"/api/v1/runs/{rid}/log-batch", json=batch)
    assert r.status_code == 200 and r.json()["metrics_written"] == 102
    got = c.get(f"/api/v1/runs/{rid}").json()
    assert got["params"] == {"lr": 0.1, "model": "rf"} and got["tags"] == {"source": "rest"}
    assert got["metrics"]["loss"]["count"] == 100 and got["metrics"]["odd"]["last"] == "Infinity"
    series = c.get(f"/api/v1/runs/{rid}/metrics/odd").json()
    assert series["value"] == ["NaN", "Infinity"]
    # bad input: nothing is written
    bad = {"metrics": [{"key": "loss", "value": 1.0}, {"key": "x", "value": "high"}]}
    r = c.post(f"/api/v1/runs/{rid}/log-batch", json=bad)
    assert r.status_code == 422 and "must be a number" in r.json()["error"]["message"]
    assert c.get(f"/api/v1/runs/{rid}").json()["metrics"]["loss"]["count"] == 100
    r = c.post(f"/api/v1/runs/{rid}/log-batch", json={"params": {"lr": 0.5}})
    assert r.status_code == 409 and "already" in r.json()["error"]["message"]
    big = {"metrics": [{"key": "k", "value": 1.0}] * 10_001}
    r = c.post(f"/api/v1/runs/{rid}/log-batch", json=big)
    assert r.status_code == 422
    assert "batch too large: 10001 metrics (at most 10000" in r.json()["error"]["message"]
    r = c.post(f"/api/v1/runs/{rid}/log-batch", json={"params": {f"p{i}": i for i in range(101)}})
    assert r.status_code == 422 and "101 params" in r.json()["error"]["message"]
    r = c.post(f"/api/v1/runs/{rid}/end", json={"status": "finished"})
    assert r.status_code == 200 and r.json()["status"] == "finished"
    r = c.post(f"/api/v1/runs/{rid}/log-batch", json={"metrics": [{"key": "a", "value": 1}]})
    assert r.status_code == 409 and "is finished" in r.json()["error"]["message"]
    assert c.get("/api/v1/runs/NOPE").status_code == 404
    assert c.post("/api/v1/runs/NOPE/log-batch", json={}).status_code == 404


def test_rest_search_series_artifacts_compare(server: tuple[str, Any]) -> None:
    url, ws = server
    runs = _seed(ws)
    c = httpx.Client(base_url=url)
    body = {
        "experiments": ["churn"],
        "filter": "params.model in ('rf', 'gbm') or metrics.auc > 0.85",
        "order_by": ["metrics.auc desc"],
        "max_results": 2,
    }
    r = c.post("/api/v1/runs/search", json=body)
    assert r.status_code == 200
    data = r.json()
    assert [x["name"] for x in data["runs"]] == ["m2", "m1"] and data["next_page_token"]
    r = c.post("/api/v1/runs/search", json={**body, "page_token": data["next_page_token"]})
    assert [x["name"] for x in r.json()["runs"]] == ["m0"]
    r = c.get("/api/v1/runs", params={"filter": "params.depth >= 3", "order_by": "params.depth"})
    assert [x["name"] for x in r.json()["runs"]] == ["m1", "m2"]
    r = c.post("/api/v1/runs/search", json={"filter": "metrics.auc >"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "InvalidInput" and err["details"]["position"] == 13
    s = c.get(f"/api/v1/runs/{runs[0].id}/metrics/val/loss", params={"max_points": 100}).json()
    assert s["total"] == 3000 and s["returned"] <= 100 and s["value"][0] == 1.0
    assert c.get(f"/api/v1/runs/{runs[0].id}/metrics/nope").status_code == 404
    arts = c.get(f"/api/v1/runs/{runs[0].id}/artifacts").json()["artifacts"]
    assert [a["path"] for a in arts] == ["notes/readme.txt"]
    dl = c.get(f"/api/v1/runs/{runs[0].id}/artifacts/notes/readme.txt")
    assert dl.status_code == 200 and dl.content == b"hello"
    assert c.get(f"/api/v1/runs/{runs[0].id}/artifacts/missing.txt").status_code == 404
    cmp = c.get("/api/v1/runs/compare", params=[("runs", runs[0].id), ("runs", runs[1].id)])
    assert set(cmp.json()["params"]) == {"model", "depth"}
    exps = c.get("/api/v1/experiments").json()["experiments"]
    assert exps[0]["name"] == "churn" and exps[0]["run_count"] == 3
    spec = c.get("/api/v1/openapi.json").json()
    assert "/api/v1/runs/{run_id}/log-batch" in spec["paths"]


def test_ui_pages(server: tuple[str, Any]) -> None:
    url, ws = server
    runs = _seed(ws)
    c = httpx.Client(base_url=url, headers={"accept": "text/html"})
    exp = ws.experiments.get("churn")
    page = c.get("/experiments")
    assert page.status_code == 200 and f"/experiments/{exp.id}" in page.text
    page = c.get(f"/experiments/{exp.id}")
    assert page.status_code == 200
    for r in runs:
        assert f"/experiments/runs/{r.id}" in page.text
    assert "val/loss" in page.text and 'class="active"' in page.text
    page = c.get(
        f"/experiments/{exp.id}",
        params={"filter": "params.model = 'gbm'", "order": "metrics.auc desc"},
    )
    assert runs[1].id in page.text and runs[0].id not in page.text
    assert "1 run match the filter" in page.text
    page = c.get(f"/experiments/{exp.id}", params={"filter": "metrics.auc >"})
    assert page.status_code == 200 and "invalid run filter at position 13" in page.text
    page = c.get(f"/experiments/runs/{runs[0].id}")
    assert page.status_code == 200
    assert "notes/readme.txt" in page.text and 'data-key="val/loss"' in page.text
    assert f"/lineage/run:{runs[0].id}" in page.text
    page = c.get("/experiments/compare", params=[("runs", runs[0].id), ("runs", runs[2].id)])
    assert page.status_code == 200 and "parcoords" in page.text and "params.model" in page.text
    assert c.get("/experiments/runs/NOPE").status_code == 404
    assert c.get("/experiments/nope").status_code == 404


def test_ui_paginates_server_side(server: tuple[str, Any]) -> None:
    url, ws = server
    from shipyard.server.ui import experiments as ui

    for i in range(ui.PAGE_SIZE + 5):
        ws.start_run(experiment="many", name=f"r{i:03d}", capture_env=False).end()
    exp = ws.experiments.get("many")
    c = httpx.Client(base_url=url)
    first = c.get(f"/experiments/{exp.id}", params={"order": "attributes.name asc"})
    assert "r000" in first.text and f"r{ui.PAGE_SIZE:03d}" not in first.text
    assert 'id="next-page"' in first.text
    import re

    href = re.search(r'id="next-page" href="([^"]+)"', first.text).group(1)  # type: ignore[union-attr]
    second = c.get(f"/experiments/{exp.id}" + href.replace("&amp;", "&"))
    assert "filter-error" not in second.text, second.text[second.text.find("filter-error") :][:400]
    assert f"r{ui.PAGE_SIZE:03d}" in second.text and "r000<" not in second.text
    assert 'id="prev-page"' not in first.text and 'id="next-page"' not in second.text
    href = re.search(r'id="prev-page" href="([^"]+)"', second.text).group(1)  # type: ignore[union-attr]
    back = c.get(f"/experiments/{exp.id}" + href.replace("&amp;", "&"))
    assert "r000<" in back.text and f"r{ui.PAGE_SIZE:03d}" not in back.text


def test_experiment_list_is_paginated_server_side(server: tuple[str, Any]) -> None:
    import re

    url, ws = server
    names = [f"exp-{i:02d}" for i in range(5)]
    for name in names:
        ws.experiments.create(name)
    c = httpx.Client(base_url=url)
    first = c.get("/experiments", params={"per_page": 2})
    assert [n for n in names if f">{n}<" in first.text] == names[:2]
    assert "1 to 2 of 5 experiments" in first.text and 'id="prev-page"' not in first.text
    href = re.search(r'id="next-page" href="([^"]+)"', first.text).group(1)  # type: ignore[union-attr]
    assert href.replace("&amp;", "&") == "/experiments?page=2&per_page=2"
    last = c.get("/experiments", params={"per_page": 2, "page": 3})
    assert [n for n in names if f">{n}<" in last.text] == names[4:]
    assert 'id="next-page"' not in last.text and 'id="prev-page"' in last.text
    assert c.get("/experiments", params={"page": 4, "per_page": 2}).status_code == 404
    assert c.get("/experiments", params={"per_page": 0}).status_code == 422
