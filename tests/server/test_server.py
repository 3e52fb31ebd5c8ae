"""The server shell against a real uvicorn on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.server import create_app
from shipyard.server._nav import AREAS
from shipyard.store import Node
from tests._support import run_uvicorn


@pytest.fixture
def server(sqlite_ws: Any) -> Iterator[str]:
    sqlite_ws.lineage.record(
        Node("dataset_version", "D1", "churn@1"), Node("run", "R1", "train rf"), "input_to"
    )
    with run_uvicorn(create_app(sqlite_ws)) as url:
        yield url


def test_health_and_info(server: str) -> None:
    r = httpx.get(f"{server}/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    info = httpx.get(f"{server}/api/v1/info").json()
    assert info["db"]["backend"] == "sqlite"
    assert info["counts"]["lineage edges"] == 1


def test_openapi_served(server: str) -> None:
    spec = httpx.get(f"{server}/api/v1/openapi.json").json()
    assert "/api/v1/health" in spec["paths"]
    assert httpx.get(f"{server}/docs").status_code == 200


def test_errors_are_json_with_status(server: str) -> None:
    r = httpx.get(f"{server}/api/v1/lineage/run:missing")
    assert r.status_code == 404
    body = r.json()["error"]
    assert body["type"] == "NotFound" and "run:missing" in body["message"]
    r = httpx.get(f"{server}/api/v1/lineage/run:R1?depth=-1")
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "InvalidInput"
    r = httpx.get(f"{server}/api/v1/lineage/nocolon")
    assert r.status_code == 422


def test_lineage_api(server: str) -> None:
    g = httpx.get(f"{server}/api/v1/lineage/run:R1", params={"direction": "up"}).json()
    assert {n["key"] for n in g["nodes"]} == {"run:R1", "dataset_version:D1"}
    assert g["edges"] == [{"src": "dataset_version:D1", "dst": "run:R1", "relation": "input_to"}]


def test_ui_home_navigation_and_unavailable_areas(server: str) -> None:
    home = httpx.get(f"{server}/")
    assert home.status_code == 200
    for area in AREAS:
        assert f'href="{area.path}"' in home.text
    assert "lineage edges" in home.text
    assert "/static/shipyard.css" in home.text and "/vendor/plotly.min.js" in home.text
    for area in AREAS:
        page = httpx.get(f"{server}{area.path}")
        assert page.status_code == 200, area.path
    assert httpx.get(f"{server}/static/shipyard.css").status_code == 200


def test_unavailable_pages_are_honest(sqlite_ws: Any) -> None:
    app = create_app(sqlite_ws)
    with run_uvicorn(app) as url:
        for area in AREAS:
            text = httpx.get(f"{url}{area.path}").text
            if area.key in app.state.ui_areas:
                assert "is not available yet" not in text, area.key
            else:
                assert f"{area.title} is not available yet" in text, area.key


def test_plotly_is_served_locally(server: str) -> None:
    r = httpx.get(f"{server}/vendor/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "plotly.js" in r.text[:200] and len(r.content) > 1_000_000


def test_lineage_page_draws_graph(server: str) -> None:
    page = httpx.get(f"{server}/lineage/run:R1")
    assert page.status_code == 200
    assert "drawLineage(" in page.text and "churn@1" in page.text
    assert "/datasets/versions/D1" in page.text


def test_unknown_page_404_html(server: str) -> None:
    r = httpx.get(f"{server}/no/such/page", headers={"accept": "text/html"})
    assert r.status_code == 404 and "no page at /no/such/page" in r.text


def test_search_by_name_and_id(server: str) -> None:
    page = httpx.get(f"{server}/search", params={"q": "churn"})
    assert page.status_code == 200
    assert "churn@1" in page.text and "/datasets/versions/D1" in page.text
    api = httpx.get(f"{server}/api/v1/search", params={"q": "r1"}).json()
    assert [r["key"] for r in api["results"]] == ["run:R1"]
    assert httpx.get(f"{server}/api/v1/search", params={"q": "100%_"}).json()["results"] == []
    none = httpx.get(f"{server}/search", params={"q": "zzz-nothing"})
    assert "Nothing matches" in none.text
