"""The tracking pages in a real browser: charts drawn, no script errors."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.server import create_app
from tests._support import run_uvicorn


@pytest.mark.browser
def test_run_and_compare_pages_draw_charts(sqlite_ws: Any, page: Any) -> None:
    runs = []
    for i, model in enumerate(["rf", "gbm"]):
        with sqlite_ws.start_run(
            experiment="churn",
            name=f"m{i}",
            params={"model": model, "depth": i + 3},
            capture_env=False,
        ) as run:
            for step in range(5000):
                run.log_metrics({"val/loss": 1.0 / (step + 1) + i, "auc": 0.8 + i / 100}, step=step)
        runs.append(run)
    with run_uvicorn(create_app(sqlite_ws)) as url:
        page.goto(f"{url}/experiments/runs/{runs[0].id}")
        page.wait_for_selector('.metric-chart[data-key="val/loss"] .main-svg', timeout=20_000)
        title = page.text_content('.metric-chart[data-key="val/loss"] .gtitle') or ""
        assert "of 5000 points" in title  # downsampled on the server
        page.goto(f"{url}/experiments/compare?runs={runs[0].id}&runs={runs[1].id}")
        page.wait_for_selector("#parcoords .main-svg", timeout=20_000)
        page.wait_for_selector('.overlay-chart[data-key="val/loss"] .main-svg', timeout=20_000)
        assert page.locator('.overlay-chart[data-key="val/loss"] .scatterlayer .trace').count() == 2
        exp = sqlite_ws.experiments.get("churn")
        page.goto(f"{url}/experiments/{exp.id}")
        page.fill('input[name="filter"]', "params.model = 'gbm'")
        page.click("#filter-form button")
        page.wait_for_load_state()
        assert page.locator("#runs tbody tr").count() == 1
    assert page.console_errors == []
