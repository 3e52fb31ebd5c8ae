"""Batching in rows, overload with reasons, swaps under load, prediction logs."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import httpx
import numpy as np

from shipyard.serving import create_server
from tests._support import run_async, run_uvicorn
from tests.serving._models import SlowSum


def _records(n: int, x: float = 1.0) -> list[dict[str, float]]:
    return [{"x": x, "y": float(i)} for i in range(n)]


async def _fire(url: str, bodies: list[Any], path: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        return list(await asyncio.gather(*(c.post(path, json=b) for b in bodies)))


def _table_sink(tables: list[Any]) -> type:
    """A prediction-log sink class that keeps the Arrow tables it is handed."""

    class TableSink:
        def write(self, rows: list[dict[str, Any]]) -> None:
            raise AssertionError("a sink with write_table gets tables")

        def write_table(self, table: Any, **_: Any) -> None:
            tables.append(table)

        def flush(self) -> None: ...

        def close(self) -> None: ...

    return TableSink


def test_batches_never_exceed_max_rows(workspace: Any) -> None:
    workspace.models.register("adder", SlowSum(0.01), input_example={"x": [1.0], "y": [2.0]})
    app = create_server(
        workspace,
        ["adder"],
        batching={"max_batch_size": 16, "max_latency_ms": 20, "step": 8},
        watch_interval_s=None,
    )
    sizes = [1, 3, 7, 16, 17, 40] * 8
    with run_uvicorn(app) as url:
        responses = run_async(
            _fire(
                url,
                [_records(n, x=float(k)) for k, n in enumerate(sizes)],
                "/v1/models/adder/predict",
            )
        )
        metrics = httpx.get(url + "/metrics").text
    for k, (n, r) in enumerate(zip(sizes, responses, strict=True)):
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == [k + i for i in range(n)]  # rows back in order
    server = app.state.model_server
    batcher = server.slots["adder"].current.batcher
    assert 0 < batcher.max_rows_seen <= 16
    chunks = sum(-(-n // 16) for n in sizes)  # requests over 16 rows are split
    assert batcher.batches < chunks  # and small ones combined
    assert batcher.rows == sum(sizes)
    # the histogram agrees: nothing above 16 rows
    le16 = re.search(
        r'shipyard_batch_rows_bucket\{le="16.0",model="adder",version="1"\} (\S+)', metrics
    )
    count = re.search(r'shipyard_batch_rows_count\{model="adder",version="1"\} (\S+)', metrics)
    assert le16 and count and float(le16.group(1)) == float(count.group(1)) > 1


def test_overload_is_503_with_reason(workspace: Any) -> None:
    workspace.models.register("slow", SlowSum(0.05), input_example={"x": [1.0], "y": [2.0]})
    app = create_server(
        workspace,
        ["slow"],
        batching={"max_batch_size": 1, "max_latency_ms": 1, "max_queue": 3},
        watch_interval_s=None,
    )
    with run_uvicorn(app) as url:
        responses = run_async(_fire(url, [_records(1)] * 30, "/v1/models/slow/predict"))
        # a deadline shorter than the work waiting refuses at once
        run_async(_fire(url, [_records(1)] * 3, "/v1/models/slow/predict"))
        metrics = httpx.get(url + "/metrics").text
    codes = [r.status_code for r in responses]
    assert 200 in codes and 503 in codes and set(codes) <= {200, 503}
    refused = [r.json()["error"] for r in responses if r.status_code == 503]
    assert all(e["type"] == "Overloaded" for e in refused)
    assert all(e["details"]["reason"] in ("queue_full", "deadline") for e in refused)
    assert any("queue full" in e["message"] for e in refused)
    assert 'shipyard_rejected_total{model="slow",reason="queue_full"}' in metrics


def test_deadline_reason(workspace: Any) -> None:
    app = create_server(
        workspace,
        ["slow"],
        batching={"max_batch_size": 1, "max_latency_ms": 1, "max_queue": 100},
        watch_interval_s=None,
    )
    with run_uvicorn(app) as url:

        async def go() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as c:
                path = "/v1/models/slow/predict"
                return list(
                    await asyncio.gather(
                        *(
                            c.post(path, json=_records(1), headers={"x-timeout-ms": "120"})
                            for _ in range(20)
                        )
                    )
                )

        responses = run_async(go())
    refused = [r.json()["error"] for r in responses if r.status_code == 503]
    assert refused and all(e["details"]["reason"] == "deadline" for e in refused)
    assert all("deadline" in e["message"] for e in refused)


def test_swap_under_load_without_failures(workspace: Any) -> None:
    models = workspace.models
    v1 = models.register("swap", SlowSum(0.002), input_example={"x": [1.0], "y": [2.0]})
    models.set_alias("swap", "champion", version=v1.version, reason="first")
    app = create_server(workspace, ["swap@champion"], watch_interval_s=0.2)
    statuses: list[int] = []
    versions: set[int] = set()
    stop = threading.Event()
    with run_uvicorn(app) as url:

        def load() -> None:
            with httpx.Client(base_url=url, timeout=30) as c:
                while not stop.is_set():
                    r = c.post("/v1/models/swap/predict", json=_records(2))
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        versions.add(r.json()["version"])

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        v2 = models.register("swap", SlowSum(0.002), input_example={"x": [1.0], "y": [2.0]})
        models.set_alias("swap", "champion", version=v2.version, reason="better")
        deadline = time.monotonic() + 15
        while v2.version not in versions and time.monotonic() < deadline:
            time.sleep(0.05)
        # explicit load / unload through the repository API
        r = httpx.post(url + "/v2/repository/models/swap/load", json={"ref": f"swap@{v1.version}"})
        assert r.status_code == 200 and r.json()["version"] == str(v1.version)
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        index = httpx.get(url + "/v2/repository/index").json()
        assert index[0]["state"] == "READY"
        assert httpx.post(url + "/v2/repository/models/swap/unload").status_code == 200
        assert httpx.get(url + "/v2/health/ready").status_code == 503
        r = httpx.post(url + "/v1/models/swap/predict", json=_records(1))
        assert r.status_code == 404
    assert len(statuses) > 50
    assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    assert versions >= {v1.version, v2.version}
    deps = workspace.deployments.list()
    dep = next(d for d in deps if d.ref.startswith("swap"))
    assert dep.status == "stopped"
    g = workspace.lineage
    assert g is not None


def test_prediction_log_rows(workspace: Any, tabular: Any) -> None:
    written: list[dict[str, Any]] = []

    class Sink:
        def write(self, rows: list[dict[str, Any]]) -> None:
            written.extend(rows)

        def flush(self) -> None: ...

        def close(self) -> None: ...

    from shipyard.serving import _server

    app = create_server(workspace, ["churn@1"], watch_interval_s=None, deployment="test")
    server = app.state.model_server
    orig = _server.open_sink
    _server.open_sink = lambda ws, dep: Sink()  # type: ignore[assignment]
    try:
        with run_uvicorn(app) as url:
            recs = [{"a": 1.0, "b": 1.0, "n": 1}, {"a": -1.0, "b": -1.0, "n": 2}]
            r = httpx.post(url + "/v1/models/churn/predict", json=recs)
            assert r.status_code == 200
    finally:
        _server.open_sink = orig
    assert server.logger is not None
    assert len(written) == 2
    row = written[1]
    assert row["row"] == 1 and row["model"] == "churn" and row["version"] == 1
    assert row["deployment"] == "test" and row["protocol"] == "records" and row["status"] == 200
    assert row["inputs"] == {"a": -1.0, "b": -1.0, "n": 2}
    assert row["outputs"] == {"predict": 0}
    assert row["ts"].tzinfo is not None and row["latency_ms"] > 0
    assert isinstance(row["request_id"], str)


def test_log_drops_are_counted_not_blocking() -> None:
    from shipyard.serving import PredictionLogger, ServerMetrics

    m = ServerMetrics()
    block = threading.Event()

    class Stuck:
        def write(self, rows: list[dict[str, Any]]) -> None:
            block.wait(5)

        def flush(self) -> None: ...

        def close(self) -> None: ...

    logger = PredictionLogger(Stuck(), lambda n: m.log_dropped.inc(n), max_pending=2)
    t0 = time.perf_counter()
    for _ in range(10):
        logger.submit(
            request_id="r",
            ts=None,
            model="m",
            version=1,
            deployment=None,
            protocol="v2",  # type: ignore[arg-type]
            status=200,
            latency_ms=1.0,
            rows=3,
            inputs={"x": np.ones(3)},
            outputs={"predict": np.ones(3)},
        )
    assert time.perf_counter() - t0 < 0.5
    block.set()
    logger.close()
    assert m.log_dropped._value.get() >= 3 * 7


def test_prediction_log_follows_batches_and_split_requests(workspace: Any) -> None:
    """Rows are logged per model call; each request keeps its id and its row numbers,
    also when it was split over several calls or shared one with others."""
    import pyarrow as pa

    tables: list[pa.Table] = []
    TableSink = _table_sink(tables)

    from shipyard.serving import _server

    workspace.models.register("adder", SlowSum(0.005), input_example={"x": [1.0], "y": [2.0]})
    app = create_server(
        workspace,
        ["adder"],
        batching={"max_batch_size": 16, "max_latency_ms": 20},
        watch_interval_s=None,
    )
    sizes = [3, 40, 5, 1, 17]
    bodies = [{"id": f"req-{k}", "records": _records(n, x=100.0 * k)} for k, n in enumerate(sizes)]
    orig = _server.open_sink
    _server.open_sink = lambda ws, dep: TableSink()  # type: ignore[assignment]
    try:
        with run_uvicorn(app) as url:
            responses = run_async(_fire(url, bodies, "/v1/models/adder/predict"))
            assert all(r.status_code == 200 for r in responses)
    finally:
        _server.open_sink = orig
    batcher = app.state.model_server.slots["adder"].current.batcher
    assert batcher.max_rows_seen <= 16 and batcher.batches >= 4  # 40 rows need 3 calls
    df = pa.concat_tables(tables).to_pandas()
    assert len(df) == sum(sizes)
    for k, n in enumerate(sizes):
        part = df[df["request_id"] == f"req-{k}"].sort_values("row")
        assert part["row"].tolist() == list(range(n))
        assert (part["in_x"] == 100.0 * k).all() and part["in_y"].tolist() == list(range(n))
        assert part["out_predict"].tolist() == [100.0 * k + i for i in range(n)]
        assert (part["protocol"] == "records").all() and (part["status"] == 200).all()
        assert (part["latency_ms"] > 0).all()


def test_a_failing_model_answers_500_and_keeps_serving(workspace: Any) -> None:
    from tests.serving._models import FailsOnNegative

    workspace.models.register("fragile", FailsOnNegative(), input_example={"x": [1.0], "y": [2.0]})
    app = create_server(workspace, ["fragile"], watch_interval_s=None, prediction_log=False)
    path = "/v1/models/fragile/predict"
    with run_uvicorn(app) as url:
        bad = httpx.post(url + path, json=[{"x": -1.0, "y": 1.0}])
        ok = httpx.post(url + path, json=[{"x": 2.0, "y": 1.0}])
        text = httpx.get(url + "/metrics").text
    assert bad.status_code == 500
    err = bad.json()["error"]
    assert err["type"] == "InferenceError" and "negative x breaks this model" in err["message"]
    assert ok.status_code == 200 and ok.json()["predictions"] == [3.0]
    assert app.state.model_server.slots["fragile"].current.inflight == 0
    assert re.search(r'shipyard_requests_total\{code="500",model="fragile",[^}]*\} 1\.0', text)


def test_datetime_columns_arrive_as_iso_text(workspace: Any) -> None:
    """JSON has no datetime: ISO 8601 text in a datetime column is parsed (offsets to UTC),
    anything else is a 400 naming the column; the log keeps them as timestamps."""
    import pyarrow as pa

    from shipyard.serving import _server
    from tests.serving._models import DaysSince

    tables: list[pa.Table] = []
    TableSink = _table_sink(tables)

    example = {"when": np.array(["2024-01-02"], dtype="datetime64[ns]"), "x": [0.0]}
    workspace.models.register("days", DaysSince(), input_example=example)
    app = create_server(workspace, ["days"], watch_interval_s=None)
    path = "/v1/models/days/predict"
    orig = _server.open_sink
    _server.open_sink = lambda ws, dep: TableSink()  # type: ignore[assignment]
    try:
        with run_uvicorn(app) as url:
            ok = httpx.post(
                url + path,
                json=[
                    {"when": "2024-01-05", "x": 0.5},
                    {"when": "2024-01-11T12:00:00Z", "x": 0},
                    {"when": "2024-01-11T14:00:00+02:00", "x": 0},
                ],
            )
            bad = httpx.post(url + path, json=[{"when": "next tuesday", "x": 0}])
    finally:
        _server.open_sink = orig
    assert ok.status_code == 200, ok.text
    assert ok.json()["predictions"] == [4.5, 10.5, 10.5]
    assert bad.status_code == 400
    err = bad.json()["error"]
    assert err["details"]["field"] == "when" and "next tuesday" in err["message"]
    logged = pa.concat_tables(tables)
    assert logged.schema.field("in_when").type == pa.timestamp("us", tz="UTC")
    assert [t.isoformat() for t in logged.column("in_when").to_pylist()][1] == (
        "2024-01-11T12:00:00+00:00"
    )
