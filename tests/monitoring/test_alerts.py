from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from shipyard.core import InvalidInput
from shipyard.monitoring import HealthChecker, parse_rule

from .conftest import log_rows

T0 = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server recording the JSON bodies POSTed to it."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("content-length", 0))
            got.append(json.loads(self.rfile.read(n)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()


def test_rules_parse() -> None:
    assert parse_rule("column:income psi > 0.2").column == "income"
    assert parse_rule("down for 60s").metric == "down_s"
    assert parse_rule("down for 2m").value == 120
    assert parse_rule("p99_latency_ms > 50").op == ">"
    with pytest.raises(InvalidInput, match="cannot parse alert rule 'drift is bad'"):
        parse_rule("drift is bad")
    with pytest.raises(InvalidInput, match="a column rule uses one of psi, statistic, drifted"):
        parse_rule("column:x accuracy > 1")


def test_alert_fires_resolves_and_cools_down_with_a_webhook(
    churn_ws: Any, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    from shipyard.data.synthetic import make_churn
    from shipyard.store import Node

    ws = churn_ws
    url, got = receiver
    dep = Node("deployment", "dep-latency", "prod")  # as the model server records it
    ws.lineage.record(ws.models.get("churn@1"), dep, "deployed_as")
    ws.monitors.create(
        "latency",
        model="churn",
        window="10m",
        rules=["p99_latency_ms > 50", "error_rate > 0.01"],
        notifiers=[{"type": "log"}, {"type": "webhook", "url": url}],
        cooldown="1h",
    )
    df = make_churn(50, period=1, seed=20)
    slow = T0
    log_rows(ws, df, slow, latency_ms=80.0, prefix="s1-")
    fired = ws.monitors.run("latency", end=slow + timedelta(minutes=5))
    assert [(a["rule"], a["state"]) for a in fired["alerts"]] == [("p99_latency_ms > 50", "firing")]
    assert got[-1]["state"] == "firing" and got[-1]["rule"] == "p99_latency_ms > 50"
    assert got[-1]["model"] == "churn" and got[-1]["model_version"] == 1
    assert got[-1]["reference"]["ref"] == "churn-train@1"
    assert got[-1]["deployments"] == ["prod"]
    # still slow: de-duplicated, no second notification
    log_rows(ws, df, slow + timedelta(minutes=10), latency_ms=90.0, prefix="s2-")
    again = ws.monitors.run("latency", end=slow + timedelta(minutes=15))
    assert again["alerts"] == [] and len(got) == 1
    # fast again: resolved
    log_rows(ws, df, slow + timedelta(minutes=20), latency_ms=3.0, prefix="f1-")
    res = ws.monitors.run("latency", end=slow + timedelta(minutes=25))
    assert [a["state"] for a in res["alerts"]] == ["resolved"] and got[-1]["state"] == "resolved"
    # slow inside the cool-down: suppressed, not notified
    log_rows(ws, df, slow + timedelta(minutes=30), latency_ms=80.0, prefix="s3-")
    cool = ws.monitors.run("latency", end=slow + timedelta(minutes=35))
    assert [a["state"] for a in cool["alerts"]] == ["suppressed"] and len(got) == 2
    # slow after the cool-down: fires again
    log_rows(ws, df, slow + timedelta(hours=2), latency_ms=80.0, prefix="s4-")
    late = ws.monitors.run("latency", end=slow + timedelta(hours=2, minutes=5))
    assert [a["state"] for a in late["alerts"]] == ["firing"] and len(got) == 3
    history = ws.monitors.alerts("latency")
    assert [h["state"] for h in history] == ["firing", "resolved"]
    assert history[1]["details"]["notifications"][1]["status"] == 204
    # the alert is in the lineage graph, below the monitor (and so the model version)
    node = f"alert:{history[0]['id']}"
    up = ws.lineage.upstream(node).keys()
    assert any(k.startswith("monitor:") for k in up)
    assert any(k.startswith("model_version:") for k in up)
    assert "deployment:dep-latency" in up


FLOW = """
import shipyard as sy
from shipyard.pipelines import current_workspace


@sy.step(cache=False)
def count(dataset: str) -> int:
    return current_workspace().datasets.get(dataset).to_arrow().num_rows


@sy.pipeline
def retrain(dataset: str = "churn-train@1"):
    return count(dataset)
"""


def test_retraining_action_runs_a_pipeline_on_the_drifted_window(
    churn_ws: Any, tmp_path: Path
) -> None:
    from shipyard.data.synthetic import make_churn

    ws = churn_ws
    flow = tmp_path / "flows_retrain.py"
    flow.write_text(FLOW)
    ws.monitors.create(
        "loop",
        model="churn",
        window="1h",
        rules=["column:monthly_charges psi > 0.1"],
        notifiers=[{"type": "pipeline", "target": f"{flow}:retrain", "executor": "inline"}],
    )
    start = T0 + timedelta(days=5)
    log_rows(ws, make_churn(400, period=2, seed=21), start, prefix="d")
    check = ws.monitors.run("loop", end=start + timedelta(minutes=30))
    (alert,) = check["alerts"]
    assert alert["state"] == "firing"
    (stored,) = ws.monitors.alerts("loop")
    action = stored["details"]["notifications"][0]
    assert action["type"] == "pipeline" and action["status"] == "succeeded", action
    run = ws.pipelines.get(action["run_id"])
    assert run.result == 400
    assert action["dataset"].startswith("loop-window@")
    down = ws.lineage.downstream(f"alert:{alert['id']}").keys()
    assert f"pipeline_run:{run.id}" in down


def test_alerts_firing_together_share_one_retraining_run(churn_ws: Any, tmp_path: Path) -> None:
    from shipyard.data.synthetic import make_churn

    ws = churn_ws
    flow = tmp_path / "flows_retrain_shared.py"
    flow.write_text(FLOW)
    ws.monitors.create(
        "pair",
        model="churn",
        window="1h",
        rules=["column:monthly_charges psi > 0.1", "drift_share > 0.1"],
        notifiers=[{"type": "pipeline", "target": f"{flow}:retrain", "executor": "inline"}],
    )
    start = T0 + timedelta(days=6)
    log_rows(ws, make_churn(400, period=2, seed=22), start, prefix="s")
    check = ws.monitors.run("pair", end=start + timedelta(minutes=30))
    assert [a["state"] for a in check["alerts"]] == ["firing", "firing"]
    actions = [a["details"]["notifications"][0] for a in ws.monitors.alerts("pair")]
    assert len({a["run_id"] for a in actions}) == 1 and any(a.get("shared") for a in actions)
    run = ws.pipelines.get(actions[0]["run_id"])
    graph = ws.lineage.graph(f"pipeline_run:{run.id}", depth=1).to_dict()
    labels = {n["label"] for n in graph["nodes"] if n["kind"] == "pipeline_run"}
    assert labels == {run.pipeline}  # the pipeline's name, not the notifier's target path


def test_health_checker_detects_a_stopped_server(churn_ws: Any) -> None:
    from fastapi import FastAPI

    from tests._support import run_uvicorn

    app = FastAPI()

    @app.get("/v2/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    with run_uvicorn(app) as url:
        checker = HealthChecker(churn_ws, [url])
        (up,) = checker.check()
        assert up["up"] and up["down_s"] == 0
        ws = churn_ws
        ws.monitors.create(
            "svc", model="churn", server_url=url, rules=["down for 0s"], schedule=None
        )
        assert ws.monitors.run("svc")["server"]["up"]
    (down,) = checker.check()
    assert not down["up"] and down["down_s"] == 0
    (still,) = checker.check()
    assert not still["up"] and still["down_s"] > 0
    check = ws.monitors.run("svc")
    assert check["server"]["up"] is False
    assert [a["state"] for a in check["alerts"]] == ["firing"]
