"""The golden path in a real browser, over the workspace the quickstart leaves.

The UI server (uvicorn on a free port) serves the quickstart's workspace; headless
Chromium clicks through every area in lifecycle order, then walks the lineage from a
monitoring alert up to the pipeline run that made the model's data and back down to
the deployment. Each page must show its data, every Plotly plot on it must have drawn,
and the browser must log no console error and no failed request. Full-page screenshots
go to ``$SHIPYARD_TEST_ARTIFACTS/golden-path`` (else a pytest temporary folder; the
terminal summary prints where).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shipyard as sy
from shipyard.server import create_app
from tests._support import run_uvicorn

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLOT_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def golden(browser: Any, quickstart_home: Any) -> Iterator[dict[str, Any]]:
    """The UI over the quickstart's workspace, and the ids the walk expects to meet."""
    with sy.Workspace(quickstart_home.home) as ws:
        champion = ws.models.get("churn@champion")
        deployment = next(d for d in ws.deployments.list() if d.version_id == champion.id)
        expected = {
            "champion": champion,
            "deployment": deployment,
            "training_run": ws.runs.get(champion.run_id),
        }
        with run_uvicorn(create_app(ws)) as url:
            yield {"url": url, **expected}


class Tour:
    """Drives one page through the UI: checks each page and screenshots it."""

    def __init__(self, page: Any, base: str, shots: Path, prefix: str) -> None:
        self.page, self.base, self.shots, self.prefix = page, base, shots, prefix
        self.step = 0
        self.failed: list[str] = []
        page.on("requestfailed", self._request_failed)
        page.on(
            "response",
            lambda r: self.failed.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )

    def _request_failed(self, request: Any) -> None:
        # a request cut short because the test navigated away is not a failure
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed.append(f"{request.failure} {request.url}")

    def click(self, locator: Any, path: str) -> None:
        """Follow a link on the page (never a typed URL) and wait for the new page."""
        assert locator.count() >= 1, f"no link to {path} on {self.page.url}"
        with self.page.expect_navigation():
            locator.first.click()
        assert re.search(path, self.page.url), f"expected {path}, landed on {self.page.url}"

    def check(self, name: str, *, plots: int = 0, texts: tuple[str, ...] = ()) -> str:
        """Assert the page: shell (breadcrumbs, search), data, plots drawn, no errors."""
        pg = self.page
        pg.wait_for_load_state("load")
        assert pg.locator("form.search input[name=q]").count() == 1, f"{name}: no search box"
        crumbs = pg.locator(".crumbs")
        assert crumbs.count() == 1 and crumbs.inner_text().strip(), f"{name}: no breadcrumbs"
        assert pg.locator("main h1").inner_text().strip(), f"{name}: no heading"
        if plots:
            pg.wait_for_function(
                """n => {
                    const ps = [...document.querySelectorAll("main .plot")];
                    return ps.length >= n && ps.every(p => p.querySelector(".main-svg"));
                }""",
                arg=plots,
                timeout=PLOT_TIMEOUT_MS,
            )
        body = pg.locator("main").inner_text()
        for text in texts:
            assert text in body, f"{name}: {text!r} not on {pg.url}"
        self.step += 1
        pg.screenshot(
            path=str(self.shots / f"{self.prefix}{self.step:02d}-{name}.png"), full_page=True
        )
        errors = list(pg.console_errors)
        assert not errors, f"{name}: console errors on {pg.url}: {errors}"
        assert not self.failed, f"{name}: failed requests on {pg.url}: {self.failed}"
        return body


def _plot_texts(page: Any, selector: str) -> list[str]:
    return page.locator(f"{selector} text").evaluate_all("els => els.map(e => e.textContent)")


def test_golden_path_click_through(golden: dict[str, Any], page: Any, artifact_dir: Any) -> None:
    shots = artifact_dir("golden-path")
    print(f"golden path screenshots: {shots}")
    tour = Tour(page, golden["url"], shots, "path-")
    champion = golden["champion"]

    page.goto(f"{golden['url']}/datasets")
    tour.check("datasets", texts=("churn", "reviews", "churn-model-train"))

    # datasets → a version: the labels the labeling project exported
    tour.click(page.locator("main a", has_text=re.compile(r"^reviews$")), r"/datasets/reviews$")
    tour.check("dataset", texts=("reviews@2",))
    tour.click(page.locator("main a", has_text=re.compile(r"^reviews@2$")), r"/datasets/versions/")
    tour.check("dataset-version", plots=2, texts=("reviews@2", "rows", "review-sentiment"))

    # → the labeling project that made it (a lineage link)
    tour.click(page.locator("#related a", has_text="review-sentiment"), r"/labeling/")
    tour.check("labeling-project", plots=4, texts=("review-sentiment", "annotations"))

    # → a feature view
    tour.click(page.locator("nav a", has_text="Features"), r"/features$")
    tour.check("features", texts=("customer_activity@1", "churn_model@1"))
    tour.click(page.locator("main a", has_text="customer_activity@1"), r"/features/")
    tour.check("feature-view", plots=1, texts=("customer_activity", "churn-training@1"))

    # → a pipeline run
    tour.click(page.locator("nav a", has_text="Pipelines"), r"/pipelines$")
    tour.check("pipelines", texts=("churn_training", "churn_model_data"))
    tour.click(page.locator("main a.card", has_text="churn_training"), r"pipeline=churn_training")
    tour.check("pipeline", texts=("churn_training",))
    tour.click(page.locator("#runs a[href^='/pipelines/runs/']"), r"/pipelines/runs/")
    tour.check("pipeline-run", plots=2, texts=("churn_training", "train_forest", "evaluate"))

    # → a tracked run
    tour.click(page.locator("nav a", has_text="Experiments"), r"/experiments$")
    tour.check("experiments", texts=("quickstart", "churn-champion"))
    tour.click(page.locator("main a", has_text=re.compile(r"^quickstart$")), r"/experiments/")
    tour.check("experiment", texts=("logreg", "rf", "gbm"))
    tour.click(page.locator("#runs a", has_text=re.compile(r"^rf$")), r"/experiments/runs/")
    tour.check("run", plots=3, texts=("rf", "auc", "n_estimators", "model/model.pkl"))

    # → compare the three runs of the experiment
    tour.click(page.locator(".crumbs a", has_text="quickstart"), r"/experiments/")
    for name in ("logreg", "rf", "gbm"):
        page.check(f"input[aria-label='select {name}']")
    tour.click(page.locator("button", has_text="Compare selected"), r"/experiments/compare")
    tour.check("compare", plots=4, texts=("Compare 3 runs", "metrics.auc"))

    # → the study
    tour.click(page.locator("nav a", has_text="Tuning"), r"/tuning$")
    tour.check("studies", texts=("quickstart-gbm",))
    tour.click(page.locator("main a", has_text="quickstart-gbm"), r"/tuning/")
    tour.check("study", plots=5, texts=("quickstart-gbm", "pruned", "Best params"))

    # → the champion model, its lineage graph drawn
    tour.click(page.locator("nav a", has_text="Models"), r"/models$")
    tour.check("models", texts=("churn", "churn-mlp"))
    tour.click(page.locator("main a", has_text=re.compile(r"^churn$")), r"/models/")
    tour.check("model", texts=(champion.ref, "champion"))
    tour.click(page.locator(f"main a[href='/models/versions/{champion.id}']"), champion.id)
    tour.check("model-version", plots=2, texts=(champion.ref, "auc", "churn-model-train@1"))
    labels = _plot_texts(page, "#lineage")
    run_label = golden["training_run"].name
    for label in (champion.ref, run_label, "churn-model-train@1", golden["deployment"].name):
        assert any(label in t for t in labels), f"{label!r} not in the lineage graph: {labels}"

    # → the deployment serving it
    tour.click(page.locator("#related a", has_text=golden["deployment"].name), r"/deployments/")
    tour.check("deployment", plots=2, texts=(golden["deployment"].name, champion.ref))

    # → the monitoring dashboard watching it
    tour.click(page.locator("#monitored-by a", has_text="churn-monitor"), r"/monitoring/")
    body = tour.check("monitor", plots=5, texts=("churn-monitor", "drift", "firing"))
    assert "monthly_charges" in body
    assert page.locator("#alerts tbody tr").count() >= 1


def test_lineage_walk_from_alert_to_pipeline_and_back(
    golden: dict[str, Any], page: Any, artifact_dir: Any
) -> None:
    shots = artifact_dir("golden-path")
    print(f"lineage walk screenshots: {shots}")
    tour = Tour(page, golden["url"], shots, "lineage-")
    champion, deployment = golden["champion"], golden["deployment"]
    training_run = golden["training_run"]

    page.goto(f"{golden['url']}/monitoring")
    tour.check("monitors", texts=("churn-monitor",))
    tour.click(page.locator("#monitors a", has_text="churn-monitor"), r"/monitoring/")
    tour.check("monitor", plots=5, texts=("firing",))

    # the alert → the model version it fired for
    tour.click(page.locator("#alerts a.alert-model"), f"/models/versions/{champion.id}")
    tour.check("model-version", plots=2, texts=(champion.ref,))

    # → its training run
    tour.click(page.locator(f"main a[href='/experiments/runs/{training_run.id}']"), training_run.id)
    tour.check("training-run", plots=1, texts=("gbm", "train_auc", "churn-model-train@1"))

    # → the dataset version it read
    tour.click(page.locator("#lineage-links a", has_text="churn-model-train@1"), r"/datasets/")
    tour.check("dataset-version", plots=2, texts=("churn-model-train@1", "3000"))

    # → the pipeline run that made that version
    tour.click(page.locator("#related a[href^='/pipelines/runs/']"), r"/pipelines/runs/")
    tour.check("pipeline-run", plots=2, texts=("churn_model_data", "prepare"))

    # back down: the step → the dataset version it created → the model → the deployment
    tour.click(page.locator("#related a[href^='/pipelines/steps/']"), r"/pipelines/steps/")
    tour.check("step", texts=("prepare", "churn-model-train@1"))
    tour.click(page.locator("#related a", has_text="churn-model-train@1"), r"/datasets/versions/")
    tour.check("dataset-version-again", plots=2, texts=(champion.ref,))
    tour.click(page.locator("#related a", has_text=champion.ref), champion.id)
    tour.check("model-version-again", plots=2, texts=(deployment.name,))
    tour.click(
        page.locator("#related a", has_text=deployment.name), f"/deployments/{deployment.id}"
    )
    tour.check("deployment", plots=2, texts=(deployment.name, champion.ref, "churn-monitor"))
