"""The model server writes its prediction logs through the monitoring sink."""

from __future__ import annotations

from typing import Any

import httpx

from shipyard.monitoring import read_prediction_logs

from .conftest import FEATURES


def test_served_requests_arrive_in_the_logs_and_a_check_reads_them(churn_ws: Any) -> None:
    from shipyard.data.synthetic import make_churn
    from shipyard.serving import create_server
    from tests._support import run_uvicorn

    ws = churn_ws
    df = make_churn(40, period=2, seed=50)[FEATURES]
    app = create_server(
        ws, ["churn@1"], watch_interval_s=None, deployment="served", record_deployments=False
    )
    with run_uvicorn(app) as url:
        for i in range(0, 40, 10):
            recs = df.iloc[i : i + 10].to_dict("records")
            r = httpx.post(url + "/v1/models/churn/predict", json=recs, timeout=30)
            assert r.status_code == 200, r.text
    # the server flushes its sink when it shuts down
    logs = read_prediction_logs(ws, "churn", 1, deployment="served")
    assert logs.num_rows == 40
    assert {"in_monthly_charges", "in_contract", "out_predict"} <= set(logs.column_names)
    assert set(logs.column("protocol").to_pylist()) == {"records"}
    ws.monitors.create("served", model="churn", deployment="served", window="1h", schedule=None)
    check = ws.monitors.run("served")
    assert check["rows"] == 40 and check["status"] in ("ok", "drift")
    assert check["health"][0]["requests"] == 4
