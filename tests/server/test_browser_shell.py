"""The UI shell in a real browser: navigation renders, Plotly draws the lineage graph."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.server import create_app
from shipyard.store import Node
from tests._support import run_uvicorn

pytestmark = pytest.mark.browser


def test_home_and_lineage_graph_render(sqlite_ws: Any, page: Any) -> None:
    sqlite_ws.lineage.record(
        Node("dataset_version", "D1", "churn@1"), Node("run", "R1", "train"), "input_to"
    )
    with run_uvicorn(create_app(sqlite_ws)) as url:
        page.goto(f"{url}/")
        assert page.locator("h1").inner_text() == "Workspace"
        assert page.locator("nav a").count() == 9
        page.goto(f"{url}/lineage/run:R1")
        page.wait_for_selector("#lineage .main-svg", timeout=15_000)
        labels = page.locator("#lineage text").evaluate_all("els => els.map(e => e.textContent)")
        assert "churn@1" in labels and "train" in labels
        page.fill("input[name=q]", "churn")
        page.press("input[name=q]", "Enter")
        page.wait_for_selector("table")
        assert "churn@1" in page.locator("table").inner_text()
    assert page.console_errors == []
