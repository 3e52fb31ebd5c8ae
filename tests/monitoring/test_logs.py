from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from shipyard.monitoring import open_prediction_log, read_prediction_logs


def _rows(n: int, t0: datetime, *, version: int = 1, offset: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "request_id": f"r{offset + i}",
            "row": 0,
            "ts": t0 + timedelta(seconds=i),
            "model": "churn",
            "version": version,
            "deployment": None,
            "protocol": "v2",
            "status": 200,
            "latency_ms": 1.5,
            "inputs": {"age": 30 + i, "plan": "basic"},
            "outputs": {"label": i % 2, "proba": 0.4},
        }
        for i in range(n)
    ]


def test_sink_writes_rolling_files_and_reads_a_window(ws: Any) -> None:
    """On both backends: SQLite + local blobs, PostgreSQL + S3."""
    from shipyard.monitoring import health_summary

    sqlite_ws = ws
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with open_prediction_log(sqlite_ws, deployment="prod", max_rows=40) as sink:
        threads = [
            threading.Thread(target=sink.write, args=(_rows(25, t0, offset=k * 25),))
            for k in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sink.write(_rows(10, t0, version=2))
    assert sink.rows_written == 110
    assert sink.files_written >= 3
    table = read_prediction_logs(sqlite_ws, "churn", version=1)
    assert table.num_rows == 100
    assert set(table.column("deployment").to_pylist()) == {"prod"}
    assert {"in_age", "in_plan", "out_label", "out_proba"} <= set(table.column_names)
    window = read_prediction_logs(
        sqlite_ws,
        "churn",
        start=t0 + timedelta(seconds=5),
        end=t0 + timedelta(seconds=10),
        columns=["in_age", "latency_ms", "in_missing"],
    )
    # both versions, 5 seconds: 4 writers x 5 + version 2 x 5
    assert window.num_rows == 25
    assert window.column_names == ["in_age", "latency_ms", "in_missing"]
    assert window.column("in_missing").null_count == 25
    health = health_summary(ws, "churn")
    assert [(h["version"], h["requests"]) for h in health] == [(1, 100), (2, 10)]
    assert health[0]["p99_latency_ms"] == 1.5


def test_empty_window_reads_an_empty_table(sqlite_ws: Any) -> None:
    table = read_prediction_logs(sqlite_ws, "nothing", columns=["in_x"])
    assert table.num_rows == 0 and table.column_names == ["in_x"]
    assert isinstance(table, pa.Table)


def test_background_timer_flushes_a_quiet_sink(sqlite_ws: Any) -> None:
    import time

    sink = open_prediction_log(sqlite_ws, max_rows=1000, max_age_s=0.2)
    sink.write(_rows(3, datetime.now(UTC)))
    deadline = time.monotonic() + 5
    while sink.rows_written < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.rows_written == 3
    sink.close()
    assert read_prediction_logs(sqlite_ws, "churn").num_rows == 3
