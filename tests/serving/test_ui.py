"""The Deployments page lists servers and reads live numbers from their /metrics."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from shipyard.serving import create_server
from tests._support import free_port, run_uvicorn


def test_deployments_page_and_live_metrics(workspace: Any, tabular: Any) -> None:
    from shipyard.server import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_server(workspace, ["churn@1"], watch_interval_s=None, url=url, deployment="ui")
    ui = TestClient(create_app(workspace))
    with run_uvicorn(app, port=port):
        for _ in range(5):
            httpx.post(url + "/v1/models/churn/predict", json=[{"a": 1.0, "b": 1.0, "n": 1}])
        page = ui.get("/deployments")
        assert page.status_code == 200
        dep = next(d for d in workspace.deployments.list() if d.name == "ui/churn")
        assert dep.status == "running" and dep.url == url
        assert "ui/churn" in page.text and f"/models/versions/{dep.version_id}" in page.text
        live = ui.get("/deployments/live.json").json()["deployments"][dep.id]
        assert live["up"] and live["requests"] == 5 and live["latency_count"] == 5
        assert ui.get(f"/deployments/{dep.id}").status_code == 200
    assert workspace.deployments.get(dep.id).status == "stopped"
    # deleting the deployment forgets its lineage node
    workspace.deployments.delete(dep.id)
    assert all(d.id != dep.id for d in workspace.deployments.list())
