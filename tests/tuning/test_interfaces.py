"""CLI, REST and UI of tuning, against a real uvicorn server while a study runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli import app
from shipyard.cli._common import reset_state
from shipyard.server import create_app
from tests._support import run_uvicorn

from . import _objectives as obj


def slow_quadratic(params: dict[str, Any], trial: Any) -> dict[str, float]:
    for step in range(3):
        time.sleep(0.06)
        trial.report(params["x"] * step, step)
    return {"score": 1.0 - (params["x"] - 0.3) ** 2}


@pytest.fixture
def finished(sqlite_ws: Any) -> Any:
    study = sqlite_ws.studies.create(
        "done",
        obj.quadratic,
        {"x": sy.uniform(0, 1), "k": sy.integer(1, 5)},
        metric="score",
        sampler="random",
        n_trials=8,
        executor="inline",
        seed=0,
    )
    return study.optimize()


@pytest.fixture
def server(sqlite_ws: Any) -> Iterator[str]:
    with run_uvicorn(create_app(sqlite_ws)) as url:
        yield url


def test_cli_ls_and_show(sqlite_ws: Any, finished: Any) -> None:
    runner = CliRunner()
    home = str(sqlite_ws.home)
    reset_state()
    out = runner.invoke(app, ["--home", home, "tune", "ls"])
    assert out.exit_code == 0, out.output
    assert "done" in out.stdout and "8/8" in out.stdout and "completed" in out.stdout
    assert f"(#{finished.best_trial.number})" in out.stdout
    reset_state()
    out = runner.invoke(app, ["--home", home, "tune", "show", "done"])
    assert out.exit_code == 0, out.output
    best = finished.best_trial
    assert f"Best trial #{best.number}" in out.stdout
    assert "Parameter importances" in out.stdout
    reset_state()
    out = runner.invoke(app, ["--home", home, "tune", "show", "done", "--json"])
    data = json.loads(out.stdout)
    assert data["best"]["number"] == best.number and len(data["trials"]) == 8
    reset_state()
    out = runner.invoke(app, ["--home", home, "tune", "show", "nope"])
    assert out.exit_code == 1
    assert "NotFound: no study 'nope'" in out.output and "known: done" in out.output
    reset_state()


def test_rest_routes(server: str, finished: Any) -> None:
    listing = httpx.get(f"{server}/api/v1/studies").json()["studies"]
    assert [s["name"] for s in listing] == ["done"] and listing[0]["finished"] == 8
    detail = httpx.get(f"{server}/api/v1/studies/done").json()
    assert detail["best"]["number"] == finished.best_trial.number
    assert set(detail["importances"]) == {"x", "k"}
    trials = httpx.get(f"{server}/api/v1/studies/{finished.id}/trials").json()["trials"]
    assert len(trials) == 8 and trials[0]["run_id"]
    fig = httpx.get(f"{server}/api/v1/studies/done/plots/parallel").json()
    lines = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert len(lines) == 8 and all(len(t["y"]) == 3 for t in lines)  # score, k, x axes
    # plotly.py's template made Plotly.js log errors on the study page; figures go without
    for kind in ("history", "slice", "contour", "parallel"):
        assert (
            "template"
            not in httpx.get(f"{server}/api/v1/studies/done/plots/{kind}").json()["layout"]
        )
    r = httpx.get(f"{server}/api/v1/studies/missing")
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"
    r = httpx.get(f"{server}/api/v1/studies/done/plots/pie")
    assert r.status_code == 422 and "unknown tuning plot" in r.json()["error"]["message"]


def test_pages_never_disturb_a_running_study(sqlite_ws: Any, server: str) -> None:
    study = sqlite_ws.studies.create(
        "live",
        slow_quadratic,
        {"x": sy.uniform(0, 1)},
        metric="score",
        sampler="tpe",
        pruner="none",
        n_trials=25,
        executor="inline",
        seed=0,
    )
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            study.optimize()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=drive)
    thread.start()
    seen_running = False
    pages = 0
    with httpx.Client(base_url=server, timeout=30) as client:
        while thread.is_alive():
            for path in ("/tuning", f"/tuning/{study.id}", f"/api/v1/studies/{study.id}"):
                r = client.get(path)
                assert r.status_code == 200, (path, r.text[:300])
                pages += 1
            seen_running = seen_running or "running" in r.text
            for kind in ("history", "importances", "parallel", "slice", "contour"):
                assert client.get(f"/api/v1/studies/{study.id}/plots/{kind}").status_code == 200
    thread.join()
    assert not errors
    assert seen_running and pages >= 6
    assert study.status == "completed"
    assert len(study.trials("complete")) == 25
    page = httpx.get(f"{server}/tuning/{study.id}").text
    assert "Best params" in page and 'id="chart-history"' in page


@pytest.mark.browser
def test_study_page_draws_its_charts(sqlite_ws: Any, finished: Any, server: str, page: Any) -> None:
    page.goto(f"{server}/tuning/{finished.id}")
    for kind in ("history", "importances", "parallel", "slice", "contour"):
        page.wait_for_selector(f"#chart-{kind} .main-svg", timeout=20_000)
    assert page.locator("#trials tbody tr").count() == 8
    assert page.locator("nav a.active").inner_text() == "Tuning"
    page.goto(f"{server}/tuning")
    page.click("#studies a")
    page.wait_for_selector("#best-params")
    assert page.url.endswith(f"/tuning/{finished.id}")
    assert not page.console_errors, page.console_errors
