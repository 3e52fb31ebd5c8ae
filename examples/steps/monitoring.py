"""Demo step: monitor the served churn model, detect drift, alert a webhook, retrain.

Reads the prediction logs the model server wrote (or, when nothing was served, writes
period-1 and drifted period-2 traffic through the prediction-log sink), creates a
monitor whose reference statistics are computed once from the period-1 data, checks the
latest window, shows the drifted columns, fires an alert to a local webhook receiver,
and lets the alert's retraining action run a pipeline on the drifted window's data
(labelled with the ground truth that arrived later).

Run standalone with ``python examples/steps/monitoring.py`` (a temporary workspace).
"""

from __future__ import annotations

import json
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import shipyard as sy
from shipyard.data.synthetic import CHURN_FEATURES
from shipyard.pipelines import current_workspace

FEATURES = list(CHURN_FEATURES)
CATEGORICAL = ["contract", "payment_method", "internet_service", "region"]


def _model() -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL), remainder="passthrough"
    )
    return make_pipeline(encode, GradientBoostingClassifier(n_estimators=60, random_state=7))


# ----------------------------------------------------------- the retraining pipeline
@sy.step(cache=False)
def load_window(dataset: str) -> Any:
    return current_workspace().datasets.get(dataset).to_pandas()


@sy.step
def retrain_model(df: Any) -> str:
    df = df.dropna(subset=["churned"])
    model = _model().fit(df[FEATURES], df["churned"].astype(int))
    v = current_workspace().models.register(
        "churn", model, input_example=df[FEATURES].head(5), tags={"trigger": "drift alert"}
    )
    return str(v.ref)


@sy.pipeline
def retrain(dataset: str = "churn-monitor-window@latest"):
    return retrain_model(load_window(dataset))


# ----------------------------------------------------------- a local webhook receiver
def _receiver() -> tuple[HTTPServer, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def _ensure_model(ws: Any) -> None:
    from shipyard.data.synthetic import make_churn

    if "churn" in ws.models.names():
        return
    df = make_churn(3000, period=1, seed=0)
    ws.models.register(
        "churn", _model().fit(df[FEATURES], df["churned"]), input_example=df[FEATURES].head(5)
    )


def _served_ref(ws: Any) -> str:
    """The champion when the registry stage promoted one, else the latest version."""
    try:
        return str(ws.models.get("churn@champion").ref)
    except sy.ShipyardError:
        return str(ws.models.get("churn").ref)


def _write_traffic(ws: Any, now: datetime, ref: str) -> tuple[list[str], list[int]]:
    """Period-1 traffic two hours ago, drifted period-2 traffic in the last half hour."""
    from shipyard.data.synthetic import make_churn
    from shipyard.monitoring import open_prediction_log

    predictor = ws.models.load(ref)
    version = ws.models.get(ref).version
    ids: list[str] = []
    labels: list[int] = []
    with open_prediction_log(ws, deployment="demo") as sink:
        for period, start in ((1, now - timedelta(hours=2)), (2, now - timedelta(minutes=30))):
            df = make_churn(2000, period=period, seed=40 + period)
            preds = predictor.predict(df[FEATURES])
            records = df[FEATURES].to_dict("records")
            rows = []
            for i, rec in enumerate(records):
                rid = f"demo-p{period}-{i}"
                rows.append(
                    {
                        "request_id": rid,
                        "row": 0,
                        "ts": start + timedelta(milliseconds=500 * i),
                        "model": "churn",
                        "version": version,
                        "deployment": "demo",
                        "protocol": "v2",
                        "status": 200,
                        "latency_ms": 2.0 + (i % 7),
                        "inputs": rec,
                        "outputs": {"predict": preds[i]},
                    }
                )
                if period == 2:
                    ids.append(rid)
            sink.write(rows)
            if period == 2:
                labels = [int(v) for v in df["churned"]]
    return ids, labels


def _served_window(ws: Any, version: int) -> tuple[datetime, datetime]:
    """The serving stage sends period 1, then period 2: the window is the second half."""
    from shipyard.monitoring import read_prediction_logs

    ts = sorted(read_prediction_logs(ws, "churn", version, columns=["ts"]).column("ts").to_pylist())
    return ts[len(ts) // 2], ts[-1] + timedelta(milliseconds=1)


def _served_labels(
    ws: Any, version: int, start: datetime, end: datetime
) -> tuple[list, list, list]:
    """Ground truth for the served period-2 customers, "arriving later".

    The serving stage sent the first customers of ``make_churn(2000, period=2, seed=7)``
    with request ids ``p2-<customer id>``; their outcomes join on those ids.
    """
    from shipyard.monitoring import read_prediction_logs

    logs = read_prediction_logs(ws, "churn", version, start, end, ["request_id", "row"])
    frame = logs.to_pandas()
    frame = frame[frame["request_id"].str.startswith("p2-")]
    if frame.empty:
        return [], [], []
    truth = _serving_step().period2_customers(2000).set_index("customer_id")["churned"]
    customers = frame["request_id"].str.slice(3)
    known = customers.isin(truth.index)
    frame, customers = frame[known], customers[known]
    return (
        frame["request_id"].tolist(),
        [int(v) for v in truth.loc[customers]],
        [int(v) for v in frame["row"]],
    )


def _serving_step() -> Any:
    """The serving step's module (it defines which customers were served)."""
    import importlib.util

    path = Path(__file__).with_name("serving.py")
    spec = importlib.util.spec_from_file_location("shipyard_demo_serving_step", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(ws: Any, console: Any) -> dict[str, Any]:
    from shipyard.data.synthetic import make_churn
    from shipyard.monitoring import read_prediction_logs

    _ensure_model(ws)
    ref = _served_ref(ws)
    version = ws.models.get(ref).version
    now = datetime.now(UTC)
    served = read_prediction_logs(ws, "churn", version, columns=["ts"]).num_rows
    written, demo = 0, None
    if not served:
        demo = _write_traffic(ws, now, ref)
        written = len(demo[0]) * 2
    try:
        reference: Any = ws.datasets.get("churn@1")  # period 1, from the data stage
    except sy.NotFound:
        reference = make_churn(5000, period=1, seed=0)
    server, received = _receiver()
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    name = "churn-monitor"
    if name in [m.name for m in ws.monitors.list()]:
        ws.monitors.delete(name)
    m = ws.monitors.create(
        name,
        model="churn",
        version=version,
        reference=reference,
        columns=FEATURES,
        window="1h",
        target="churned",
        rules=["drift_share > 0.3", "column:monthly_charges psi > 0.2", "error_rate > 0.01"],
        notifiers=[
            {"type": "log"},
            {"type": "webhook", "url": url},
            {
                "type": "pipeline",
                "target": f"{Path(__file__).resolve()}:retrain",
                "executor": "inline",
            },
        ],
    )
    if demo:
        ws.monitors.log_labels(name, *demo)  # ground truth arriving later
        start, end = now - timedelta(hours=1), now + timedelta(seconds=1)
    else:
        start, end = _served_window(ws, version)
        ids, labels, rows = _served_labels(ws, version, start, end)
        if ids:
            ws.monitors.log_labels(name, ids, labels, rows)
    check = ws.monitors.run(name, start=start, end=end)
    server.shutdown()
    drifted = check["drifted_columns"]
    console.print(
        f"monitor [bold]{m.name}[/]: {check['rows']} rows in the window "
        f"({'served' if served else f'{written} written through the sink'}), status "
        f"[bold]{check['status']}[/], drift share {check['drift_share'] or 0:.2f}",
        highlight=False,
    )
    for col, r in sorted(check["columns"].items()):
        mark = "[red]drift[/]" if r["drifted"] else "ok"
        console.print(
            f"  {col:<16} {r['test']:<14} {r['statistic'] or 0:>9.4g}  PSI {r['psi'] or 0:6.3f}  "
            f"{mark}",
            highlight=False,
        )
    actions = ws.monitors.alerts(name)
    runs = [n for a in actions for n in a["details"].get("notifications", []) if n.get("run_id")]
    console.print(
        f"alerts: {', '.join(a['rule'] + ' ' + a['state'] for a in actions) or 'none'}; "
        f"webhook received {len(received)}; retraining "
        f"{runs[0]['status'] + ' on ' + runs[0]['dataset'] if runs else 'not triggered'}",
        highlight=False,
    )
    return {
        "monitor": name,
        "rows": check["rows"],
        "drifted": len(drifted),
        "drift_share": check["drift_share"],
        "alerts": len(actions),
        "webhook_calls": len(received),
        "retrain_run": runs[0]["run_id"] if runs else None,
        "drifted_columns": drifted,
    }


if __name__ == "__main__":
    from rich.console import Console

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        print(run(ws, Console()))
