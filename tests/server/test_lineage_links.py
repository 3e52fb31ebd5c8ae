"""Object pages link their lineage neighbours: up to the pipeline run, down to the deployment."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pandas as pd
from sklearn.dummy import DummyClassifier

import shipyard as sy
from shipyard.pipelines import current_workspace
from shipyard.server import create_app
from shipyard.store import Node
from tests._support import run_uvicorn


@sy.step
def make_table(rows: int = 40) -> Any:
    frame = pd.DataFrame({"x": [float(i) for i in range(rows)], "y": [i % 2 for i in range(rows)]})
    return current_workspace().datasets.commit("linked", frame, message="made by a step")


@sy.pipeline
def making(rows: int = 40):
    return make_table(rows=rows)


@sy.step(cache=False)
def load(ref: str) -> Any:
    return current_workspace().datasets.get(ref)


@sy.pipeline
def loading(ref: str = "linked@latest"):
    return load(ref)


def _related(html: str) -> list[tuple[str, str, str, str]]:
    """(direction, relation, kind, href) of each row in the page's #related table."""
    table = re.search(r'<table id="related".*?</table>', html, re.S)
    assert table, "no #related table on the page"
    return re.findall(
        r'<td class="muted">(from|to)</td><td>([^<]+)</td><td>([^<]+)</td><td><a href="([^"]+)"',
        table.group(0),
    )


def test_pages_link_up_to_the_pipeline_run_and_down_to_the_deployment(sqlite_ws: Any) -> None:
    ws = sqlite_ws
    made = making.run(executor="inline", ws=ws)
    version = made.result
    step = next(s for s in made.steps if s.name == "make_table")
    with ws.start_run(experiment="linked", name="fit") as run:
        run.log_input(version)
    frame = version.to_pandas()
    fitted = DummyClassifier().fit(frame[["x"]], frame["y"])
    model = ws.models.register("m", fitted, run=run, datasets=[version])
    deployment = Node("deployment", "DEP1", "prod/m")
    ws.lineage.record(model, deployment, "deployed_as")

    with run_uvicorn(create_app(ws)) as url, httpx.Client(base_url=url, timeout=30) as c:
        page = c.get(f"/datasets/versions/{version.id}")
        assert page.status_code == 200
        rows = _related(page.text)
        assert ("from", "created", "step_run", f"/pipelines/steps/{step.id}") in rows
        assert ("from", "run of that step", "pipeline_run", f"/pipelines/runs/{made.id}") in rows
        assert ("to", "input_to", "run", f"/experiments/runs/{run.id}") in rows
        assert ("to", "trained_on", "model_version", f"/models/versions/{model.id}") in rows

        rows = _related(c.get(f"/pipelines/runs/{made.id}").text)
        assert ("to", "step", "step_run", f"/pipelines/steps/{step.id}") in rows
        assert not [r for r in rows if r[1] == "run of that step"]  # not itself
        page = c.get(f"/pipelines/steps/{step.id}")
        rows = _related(page.text)
        assert ("to", "created", "dataset_version", f"/datasets/versions/{version.id}") in rows
        # named by its ref, though a pipeline passed the version on by id
        loaded = loading.run(executor="inline", ws=ws)
        page = c.get(f"/pipelines/steps/{loaded.steps[0].id}")
        assert f'<a href="/datasets/versions/{version.id}">linked@1</a>' in page.text

        rows = _related(c.get(f"/models/versions/{model.id}").text)
        assert ("from", "produced", "run", f"/experiments/runs/{run.id}") in rows
        assert ("to", "deployed_as", "deployment", "/deployments/DEP1") in rows
        assert ("to", "version_of", "model", f"/models/{model.model_id}") in rows

        # an object lineage has never heard of: an empty table, not an error
        fresh = ws.datasets.commit("alone", pd.DataFrame({"a": [1]}))
        ws.lineage.remove(fresh)
        page = c.get(f"/datasets/versions/{fresh.id}")
        assert page.status_code == 200 and "nothing recorded upstream or downstream" in page.text
