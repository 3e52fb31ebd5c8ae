"""Demo step: serve ``churn@champion`` and send it traffic from both periods.

Starts the model server in a background thread (a real uvicorn server on loopback),
sends a few hundred single-customer requests to the records endpoint — the first half
from period 1 with every column, the second half from the drifted period 2 carrying
only the customer id and the request-time columns: the server fetches the rest from
the ``churn_model`` feature service's online store (materialized by the features
step) — from a few concurrent clients, prints throughput and latency, and stops the
server, which flushes the prediction logs that the monitoring step reads. Request ids
are ``p1-<customer>`` / ``p2-<customer>``, so outcomes arriving later join on them.

Run standalone with ``python examples/steps/serving.py`` (a temporary workspace).
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from shipyard.data.synthetic import CHURN_FEATURES

FEATURES = list(CHURN_FEATURES)


# columns a client knows when it asks (the rest are features of the churn_model service)
REQUEST_COLUMNS = ["contract", "payment_method", "internet_service", "region"]


def period2_customers(n: int) -> Any:
    """The period-2 customers served: the snapshot the features step materialized."""
    from shipyard.data.synthetic import make_churn

    return make_churn(2000, period=2, seed=7).head(n)


def _records(frame: Any) -> list[dict[str, Any]]:
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _has_feature_service(ws: Any, name: str) -> bool:
    try:
        ws.features.get_service(name)
    except Exception:
        return False
    return True


def _quick_model(ws: Any) -> None:
    """Register and promote a small churn model when the registry has none."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from shipyard.data.synthetic import make_churn

    df = make_churn(2000, period=1, seed=3)
    cats = ["contract", "payment_method", "internet_service", "region"]
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), cats), remainder="passthrough"
        ),
        GradientBoostingClassifier(n_estimators=40, random_state=7),
    ).fit(df[FEATURES], df["churned"].astype(int))
    v = ws.models.register("churn", model, input_example=df[FEATURES].head(3))
    ws.models.set_alias("churn", "champion", version=v.version, reason="serving demo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(ws: Any, console: Any, n_requests: int = 300, clients: int = 4) -> dict[str, Any]:
    import httpx
    import uvicorn

    import shipyard as sy
    from shipyard.data.synthetic import make_churn

    try:
        ws.models.get("churn@champion")
    except sy.core.NotFound:
        _quick_model(ws)
    online = _has_feature_service(ws, "churn_model")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = sy.serving.create_server(
        ws,
        ["churn@champion"],
        url=url,
        deployment="churn-demo",
        features={"churn": "churn_model"} if online else None,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the model server did not start")
        time.sleep(0.05)

    half = n_requests // 2
    p1 = make_churn(half, period=1, seed=21)
    p2 = period2_customers(n_requests - half)
    # period 2: the id and what is known at request time; the server adds the rest
    p2_cols = ["customer_id", *REQUEST_COLUMNS] if online else ["customer_id", *FEATURES]
    bodies = [
        {"id": f"p1-{r['customer_id']}", "records": [{k: r[k] for k in FEATURES}]}
        for r in _records(p1[["customer_id", *FEATURES]])
    ] + [{"id": f"p2-{r['customer_id']}", "records": [r]} for r in _records(p2[p2_cols])]
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def send(chunk: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            for body in chunk:
                t0 = time.perf_counter()
                r = c.post("/v1/models/churn/predict", json=body)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    statuses.append(r.status_code)

    started = time.perf_counter()
    # period 1 first, then period 2, each spread over the clients
    for part in (bodies[:half], bodies[half:]):
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(send, [part[i::clients] for i in range(clients)]))
    elapsed = time.perf_counter() - started
    metrics = httpx.get(url + "/metrics").text
    server.should_exit = True
    thread.join(30)  # shutting down flushes the prediction log

    lat = np.asarray(latencies) * 1000
    ok = sum(s == 200 for s in statuses)
    result = {
        "requests": len(statuses),
        "ok": ok,
        "throughput_rps": round(len(statuses) / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "served": ws.models.get("churn@champion").ref,
        "metrics_lines": sum(1 for line in metrics.splitlines() if line.startswith("shipyard_")),
        "features_online": online,
    }
    console.print(
        f"served {result['served']}: {ok}/{len(statuses)} ok, "
        f"{result['throughput_rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms "
        f"({clients} clients; second half from the drifted period"
        + (", its features fetched online by customer id)" if online else ")")
    )
    return result


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        print(run(ws, Console()))
