"""REST API and UI pages of pipelines and jobs, on a real uvicorn server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shipyard.server import create_app
from tests._support import run_uvicorn
from tests.pipelines import flows


@pytest.fixture
def served(sqlite_ws: Any) -> Any:
    with run_uvicorn(create_app(sqlite_ws)) as url:
        yield sqlite_ws, url


def test_api_runs_steps_logs_and_errors(served: Any) -> None:
    ws, url = served
    run = flows.training.run(params={"n": 20}, executor="inline", ws=ws)
    with httpx.Client(base_url=url, timeout=30) as c:
        listed = c.get("/api/v1/pipelines/runs").json()
        assert [r["id"] for r in listed] == [run.id]
        assert c.get("/api/v1/pipelines").json()[0]["pipeline"] == "training"
        body = c.get(f"/api/v1/pipelines/runs/{run.id}").json()
        assert body["status"] == "succeeded" and len(body["steps"]) == 7
        assert {s["name"] for s in body["graph"]["steps"]} >= {"load", "evaluate"}
        step = run.step("fit")
        assert c.get(f"/api/v1/pipelines/steps/{step.id}").json()["name"] == "fit"
        missing = c.get("/api/v1/pipelines/runs/01NOPE00000000000000000000")
        assert missing.status_code == 404
        assert missing.json()["error"]["type"] == "NotFound"
        started = c.post(
            "/api/v1/pipelines/runs",
            json={"target": "tests.pipelines.flows:fan", "params": {"n": 4}, "executor": "inline"},
        )
        assert started.status_code == 201 and started.json()["status"] == "succeeded"
        bad = c.post(
            "/api/v1/pipelines/runs", json={"target": "tests.pipelines.flows:fan", "executor": "x"}
        )
        assert bad.status_code == 422 and "unknown executor 'x'" in bad.json()["error"]["message"]
        sched = c.post(
            "/api/v1/pipelines/schedules",
            json={"target": "tests.pipelines.flows:fan", "cron": "0 * * * *", "name": "h"},
        )
        assert sched.status_code == 201
        assert [s["name"] for s in c.get("/api/v1/pipelines/schedules").json()] == ["h"]
        assert c.delete("/api/v1/pipelines/schedules/h").status_code == 204


def test_api_jobs(served: Any) -> None:
    ws, url = served
    job = ws.jobs.submit(["sh", "-c", "echo hi"], executor="inline")
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/api/v1/jobs").json()[0]["id"] == job.id
        logs = c.get(f"/api/v1/jobs/{job.id}/logs").json()
        assert logs == {"text": "hi\n", "next": 1, "status": "succeeded"}
        assert c.post(f"/api/v1/jobs/{job.id}/cancel").status_code == 409


def test_pages_show_dag_timeline_and_step_details(served: Any) -> None:
    ws, url = served
    flows.training.run(params={"n": 20}, executor="inline", ws=ws)
    run = flows.training.run(params={"n": 20}, executor="inline", ws=ws)
    with httpx.Client(base_url=url, timeout=30) as c:
        index = c.get("/pipelines")
        assert index.status_code == 200 and run.id in index.text and 'class="active"' in index.text
        page = c.get(f"/pipelines/runs/{run.id}")
        assert page.status_code == 200
        assert 'id="dag"' in page.text and 'id="gantt"' in page.text
        assert page.text.count(">cached</span>") == 7
        step = run.step("fit")
        detail = c.get(f"/pipelines/steps/{step.id}")
        assert detail.status_code == 200
        assert "cached" in detail.text and step.cached_from in detail.text
        assert "featurize" in detail.text  # its input
        assert c.get("/pipelines/runs/NOPE12").status_code == 404


@pytest.mark.browser
def test_run_page_draws_dag_and_gantt_in_a_browser(served: Any, page: Any) -> None:
    ws, url = served
    first = flows.training.run(params={"n": 20}, executor="inline", ws=ws)
    page.goto(f"{url}/pipelines/runs/{first.id}")
    page.wait_for_selector("#dag .main-svg", timeout=15_000)
    page.wait_for_selector("#gantt .main-svg", timeout=15_000)
    labels = page.locator("#dag text").evaluate_all("els => els.map(e => e.textContent)")
    assert {"load", "split", "evaluate"} <= set(labels)
    bars = page.locator("#gantt .bars path").count()
    assert bars == 7
    page.locator("#steps a", has_text="fit_2").click()
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text().startswith("fit_2")
    assert page.console_errors == []
