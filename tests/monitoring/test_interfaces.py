from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shipyard.cli import app as cli
from shipyard.cli._common import reset_state
from shipyard.server import create_app

from .conftest import log_rows


def _with_drift(ws: Any, name: str) -> dict[str, Any]:
    from shipyard.data.synthetic import make_churn

    ws.monitors.create(name, model="churn", rules=["drift_share > 0.3"], window="2h")
    now = datetime.now(UTC)
    log_rows(ws, make_churn(500, period=2, seed=30), now - timedelta(minutes=30), prefix=name)
    return ws.monitors.run(name)  # type: ignore[no-any-return]


def test_cli_create_ls_run_status_alerts_report(churn_ws: Any, tmp_path: Path) -> None:
    home = str(churn_ws.home)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        reset_state()
        return runner.invoke(cli, ["--home", home, *args])

    r = invoke("monitor", "create", "cli-mon", "--model", "churn", "--rule", "drift_share > 0.3")
    assert r.exit_code == 0, r.output
    assert "created monitor cli-mon" in r.output
    r = invoke("monitor", "ls", "--json")
    assert "cli-mon" in [m["name"] for m in json.loads(r.output)]
    r = invoke("monitor", "run", "cli-mon")
    assert r.exit_code == 0, r.output
    r = invoke("monitor", "status", "cli-mon", "--json")
    assert json.loads(r.output)["monitor"]["name"] == "cli-mon"
    r = invoke("monitor", "alerts")
    assert r.exit_code == 0
    r = invoke("monitor", "due")
    assert r.exit_code == 0, r.output
    out = tmp_path / "r.html"
    r = invoke("monitor", "report", "cli-mon", "-o", str(out))
    assert r.exit_code == 0 and "Drift report: cli-mon" in out.read_text()
    r = invoke("monitor", "run", "nope")
    assert r.exit_code == 1 and "no monitor 'nope'" in r.output
    r = invoke("monitor", "create", "bad", "--model", "churn", "--rule", "column:zzz psi > 1")
    assert r.exit_code == 1 and "names column 'zzz'" in r.output


def test_rest_and_ui(churn_ws: Any) -> None:
    ws = churn_ws
    check = _with_drift(ws, "web")
    assert check["status"] == "drift"
    client = TestClient(create_app(ws))
    assert "web" in [m["name"] for m in client.get("/api/v1/monitors").json()["monitors"]]
    body = client.get("/api/v1/monitors/web").json()
    assert body["last_check"]["status"] == "drift"
    assert body["firing"][0]["rule"] == "drift_share > 0.3"
    r = client.post("/api/v1/monitors", json={"name": "web2", "model": "nope"})
    assert r.status_code == 404 and "no such model version" in r.json()["error"]["message"]
    r = client.post("/api/v1/monitors", json={"name": "web3", "model": "churn", "wat": 1})
    assert r.status_code == 422
    figs = client.get("/api/v1/monitors/web/figures").json()
    assert {"drift", "histogram", "prediction", "latency", "errors", "rate"} <= set(figs)
    assert figs["drift"]["data"][0]["type"] == "heatmap"
    assert client.post("/api/v1/monitors/web/run").json()["status"] == "drift"
    assert client.get("/api/v1/alerts").json()["alerts"]
    rep = client.get("/api/v1/monitors/web/report")
    assert rep.status_code == 200 and "plotly" in rep.text.lower()
    page = client.get("/monitoring")
    assert page.status_code == 200 and "web" in page.text
    m = ws.monitors.get("web")
    page = client.get(f"/monitoring/{m.id}")
    assert page.status_code == 200 and "drift_share &gt; 0.3" in page.text
