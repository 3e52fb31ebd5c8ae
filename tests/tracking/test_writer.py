"""The background writer: batching, durability, concurrency, SIGKILL, lost runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.tracking import lttb_indices, minmax_indices
from shipyard.tracking.tables import metric_chunks, metric_series


def _points(ws: Any, run_id: str) -> int:
    with ws.db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(metric_series.c.count), 0)).where(
                    metric_series.c.run_id == run_id
                )
            ).scalar_one()
        )


def test_points_are_written_in_large_batches(sqlite_ws: Any) -> None:
    writer = sqlite_ws.runs.writer
    before = writer.batches
    run = sqlite_ws.start_run(experiment="w", capture_env=False)
    for step in range(20_000):
        run.log_metrics({"a": step, "b": -step, "c": 0.5}, step=step)
    run.end()
    assert _points(sqlite_ws, run.id) == 60_000
    assert writer.batches - before <= 3  # not one transaction per point
    with sqlite_ws.db.read() as conn:
        chunks = conn.execute(sa.select(sa.func.count()).select_from(metric_chunks)).scalar_one()
    assert chunks <= 9  # one chunk per series per batch
    h = sqlite_ws.runs.series(run.id, "b")
    assert h.total == 20_000 and h.value[-1] == -19_999.0 and list(h.step[:3]) == [0, 1, 2]


def test_background_flush_without_end(sqlite_ws: Any) -> None:
    run = sqlite_ws.start_run(experiment="w", capture_env=False)
    run.log_metric("x", 1.0)
    deadline = time.monotonic() + 5
    while _points(sqlite_ws, run.id) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _points(sqlite_ws, run.id) == 1  # flushed by the ~1 s timer, run still live
    run.end()


def test_small_chunks_are_compacted(sqlite_ws: Any) -> None:
    from shipyard.tracking import _writer

    run = sqlite_ws.start_run(experiment="w", capture_env=False)
    for i in range(_writer.COMPACT_AFTER + 5):
        run.log_metric("slow", float(i))
        run.flush()  # one tiny chunk per flush
    run.end()
    with sqlite_ws.db.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(metric_chunks)).scalar_one()
    assert n < 10
    h = sqlite_ws.runs.series(run.id, "slow")
    assert list(h.value) == [float(i) for i in range(_writer.COMPACT_AFTER + 5)]


def test_out_of_order_steps_read_back_sorted(sqlite_ws: Any) -> None:
    run = sqlite_ws.start_run(experiment="w", capture_env=False)
    for step in (5, 1, 3):
        run.log_metric("x", float(step), step=step)
        run.flush()
    run.log_metric("x", 0.0, step=0)
    run.end()
    h = sqlite_ws.runs.series(run.id, "x")
    assert list(h.step) == [0, 1, 3, 5]
    assert sqlite_ws.runs.get(run.id).metric_summaries()["x"]["last"] == 5.0


_CHILD = textwrap.dedent(
    """
    import sys, shipyard as sy
    db, home, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ws = sy.Workspace(home, db=db or None)
    with ws.start_run(experiment="par", name=f"p{i}", capture_env=False) as run:
        for step in range(5000):
            run.log_metrics({"a": step, "b": i}, step=step)
            if step % 1000 == 0:
                run.flush()
    print(run.id)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_eight_processes_log_concurrently(backend: str, tmp_path: Path, request: Any) -> None:
    db = "" if backend == "sqlite" else request.getfixturevalue("pg_url")
    home = tmp_path / "ws"
    ws = sy.Workspace(home, db=db or None)  # migrate once up front
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), db, str(home), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        ids.append(out.strip().splitlines()[-1])
    for rid in ids:
        run = ws.runs.get(rid)
        assert run.status == "finished"
        assert _points(ws, rid) == 10_000
        assert ws.runs.series(rid, "a").total == 5000
    ws.close()


_KILLED = textwrap.dedent(
    """
    import os, signal, sys, shipyard as sy
    ws = sy.Workspace(sys.argv[1], db=sys.argv[2] or None)
    run = ws.start_run(experiment="kill", capture_env=False, heartbeat_s=0.2)
    for step in range(1000):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.flush()
    print(run.id, flush=True)
    for step in range(1000, 100000):
        run.log_metric("loss", 0.0, step=step)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_keeps_flushed_points_and_run_is_lost(
    backend: str, tmp_path: Path, request: Any
) -> None:
    db = "" if backend == "sqlite" else request.getfixturevalue("pg_url")
    script = tmp_path / "killed.py"
    script.write_text(_KILLED)
    home = tmp_path / "ws"
    out = subprocess.run(
        [sys.executable, str(script), str(home), db], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == -9, out.stderr
    run_id = out.stdout.split()[0]
    ws = sy.Workspace(home, db=db or None)
    ws.runs.lost_grace_s = 0.0
    assert _points(ws, run_id) >= 1000
    h = ws.runs.series(run_id, "loss")
    assert list(h.step[:1000]) == list(range(1000))
    time.sleep(1.0)  # > 3 heartbeats of 0.2 s
    run = ws.runs.get(run_id)
    assert run.status == "lost" and "heartbeat" in run.error
    assert run.end_time is not None
    if backend == "sqlite":
        with ws.db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    with ws.start_run(experiment="kill", capture_env=False) as again:  # still usable
        again.log_metric("x", 1)
    assert ws.runs.get(again.id).metrics == {"x": 1.0}
    ws.close()


def test_a_live_run_is_not_marked_lost(sqlite_ws: Any) -> None:
    sqlite_ws.runs.lost_grace_s = 0.0
    run = sqlite_ws.start_run(experiment="hb", capture_env=False, heartbeat_s=0.1)
    time.sleep(0.6)
    assert sqlite_ws.runs._sweep_lost(force=True) == 0
    assert sqlite_ws.runs.get(run.id).status == "running"
    run.end()


def test_uncaught_exit_ends_live_runs(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import shipyard as sy
        ws = sy.Workspace({str(tmp_path / "ws")!r})
        ok = ws.start_run(experiment="x", name="ok", capture_env=False)
        ok.log_metric("m", 1.0)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    code_fail = code.replace('"ok"', '"bad"') + "\nraise SystemError('boom')\n"
    subprocess.run([sys.executable, "-c", code_fail], timeout=60, capture_output=True)
    ws = sy.Workspace(tmp_path / "ws")
    ok = ws.runs.get("ok")
    assert ok.status == "finished" and ok.metrics == {"m": 1.0}
    bad = ws.runs.get("bad")
    assert bad.status == "failed" and "SystemError: boom" in bad.error
    ws.close()


def test_minmax_downsampling_keeps_extremes() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=100_000)
    v[12_345] = 50.0
    v[77_777] = -40.0
    v[500] = np.nan
    idx = minmax_indices(v, 2000)
    assert len(idx) <= 2000 and idx[0] == 0 and idx[-1] == 99_999
    assert 12_345 in idx and 77_777 in idx
    assert np.all(np.diff(idx) > 0)
    assert len(minmax_indices(v[:100], 2000)) == 100
    lt = lttb_indices(np.arange(100_000), v, 2000)
    assert len(lt) <= 2000 and 12_345 in lt and 77_777 in lt


def test_series_downsampled_read(ws: Any) -> None:
    run = ws.start_run(experiment="w", capture_env=False)
    for step in range(10_000):
        run.log_metric("x", float(step % 100) if step != 4321 else 1e6, step=step)
    run.end()
    s = ws.runs.series(run.id, "x", max_points=200)
    assert s.total == 10_000 and len(s) <= 200 and s.downsampled
    assert s.value.max() == 1e6 and 4321 in s.step
    s2 = ws.runs.series(run.id, "x", max_points=200, method="lttb")
    assert len(s2) <= 200 and s2.method == "lttb"
    df = s.to_pandas()
    assert list(df.columns) == ["step", "timestamp", "value"]
    from shipyard.core import InvalidInput, NotFound

    with pytest.raises(NotFound, match=r"has no metric 'y'.*known: x"):
        ws.runs.series(run.id, "y")
    with pytest.raises(InvalidInput, match="max_points"):
        ws.runs.series(run.id, "x", max_points=1)
    with pytest.raises(InvalidInput, match="unknown downsampling method"):
        ws.runs.series(run.id, "x", method="avg")


def test_the_buffer_is_bounded(sqlite_ws: Any) -> None:
    from shipyard.tracking._writer import MetricWriter

    writer = MetricWriter(sqlite_ws.db, batch_size=500, max_pending=2000)
    run = sqlite_ws.start_run(experiment="w", capture_env=False)
    run._writer = writer
    peak = 0
    for step in range(20_000):
        run.log_metric("x", 1.0, step=step)
        peak = max(peak, writer._pending)
    run.end()
    writer.flush()
    assert peak <= 2000
    assert sqlite_ws.runs.series(run.id, "x").total == 20_000
