"""Tracking benchmarks: logging throughput, search latency, series reads.

Each figure is printed next to its baseline, measured in the same run:

* logging: 20 runs x 5 metrics x 10,000 steps through ``run.log_metrics`` until
  ``run.end()`` returns (every point durable) vs raw ``sqlite3.executemany`` of the
  same points into an equivalent table (same columns, same index) in one transaction;
* search: 10,000 runs x 20 params x 10 metrics, a filter with OR + IN, ordered by a
  metric, limit 100 vs the same result computed by scanning pandas frames in memory;
* series: one 100,000-point series downsampled to 2,000 points vs reading it whole.

Usage: python benchmarks/bench_tracking.py [--postgres URL] [--scale 0.1]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import shipyard as sy
from shipyard.core import new_id, utcnow
from shipyard.tracking.tables import (
    experiments,
    metric_series,
    run_params,
    run_tags,
    runs,
)


def bench_logging(ws: Any, n_runs: int, n_metrics: int, n_steps: int) -> tuple[float, int]:
    keys = [f"m{i}" for i in range(n_metrics)]
    t0 = time.perf_counter()
    total = 0
    for r in range(n_runs):
        run = ws.start_run(experiment="bench-log", name=f"r{r}", capture_env=False)
        for step in range(n_steps):
            v = step * 0.001
            run.log_metrics({k: v for k in keys}, step=step)
        run.end()
        total += n_metrics * n_steps
    return time.perf_counter() - t0, total


def baseline_executemany(path: str, n_runs: int, n_metrics: int, n_steps: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE metric_points (series_id INTEGER NOT NULL, step BIGINT NOT NULL, "
        "ts BIGINT NOT NULL, value FLOAT)"
    )
    conn.execute("CREATE INDEX ix_p ON metric_points (series_id, step)")
    ts = int(time.time() * 1000)
    rows = [
        (r * n_metrics + m, step, ts, step * 0.001)
        for r in range(n_runs)
        for step in range(n_steps)
        for m in range(n_metrics)
    ]
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO metric_points VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def populate_search(ws: Any, n_runs: int, n_params: int, n_metrics: int) -> None:
    """Bulk-load runs (setup only; the measured search goes through the public API)."""
    rng = random.Random(0)
    exp = ws.experiments.get_or_create("bench-search")
    now = utcnow()
    models = ["rf", "gbm", "lr", "svm", "knn"]
    teams = ["risk", "growth", "core"]
    run_rows, param_rows, tag_rows, metric_rows = [], [], [], []
    for i in range(n_runs):
        rid = new_id()
        run_rows.append(
            dict(
                id=rid,
                experiment_id=exp.id,
                name=f"run{i}",
                status="finished" if i % 10 else "failed",
                parent_id=None,
                start_time=now,
                end_time=now,
                heartbeat_at=now,
                heartbeat_s=10.0,
                error=None,
                env={},
            )
        )
        param_rows.append(
            dict(run_id=rid, key="model", value=rng.choice(models), value_num=None, vtype="str")
        )
        for p in range(1, n_params):
            v = rng.random()
            param_rows.append(
                dict(run_id=rid, key=f"p{p}", value=repr(v), value_num=v, vtype="float")
            )
        tag_rows.append(dict(run_id=rid, key="team", value=rng.choice(teams)))
        for m in range(n_metrics):
            v = rng.random()
            metric_rows.append(
                dict(
                    run_id=rid,
                    key="auc" if m == 0 else f"m{m}",
                    count=1,
                    last=v,
                    last_step=0,
                    last_ts=0,
                    min=v,
                    max=v,
                )
            )
    with ws.db.write() as conn:
        conn.execute(runs.insert(), run_rows)
        conn.execute(run_params.insert(), param_rows)
        conn.execute(run_tags.insert(), tag_rows)
        conn.execute(metric_series.insert(), metric_rows)
    if ws.db.backend == "postgresql":
        with ws.db.write() as conn:
            for t in (runs, run_params, run_tags, metric_series, experiments):
                conn.exec_driver_sql(f"ANALYZE {t.name}")


SEARCH_FILTER = (
    "metrics.auc > 0.5 and (params.model in ('rf', 'gbm') or tags.team = 'risk') "
    "and attributes.status = 'finished'"
)


def bench_search(ws: Any, repeat: int = 7) -> tuple[float, int]:
    times = []
    page = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = ws.runs.search(
            experiments=["bench-search"],
            filter=SEARCH_FILTER,
            order_by=["metrics.auc desc"],
            max_results=100,
        )
        times.append(time.perf_counter() - t0)
    assert page is not None
    return statistics.median(times), len(page)


def baseline_search_pandas(ws: Any) -> float:
    """Load the summary tables into pandas once, then time the same filter in memory."""
    import pandas as pd
    import sqlalchemy as sa

    with ws.db.read() as conn:
        r = pd.DataFrame(conn.execute(sa.select(runs.c.id, runs.c.status)).all())
        p = pd.DataFrame(
            conn.execute(sa.select(run_params.c.run_id, run_params.c.key, run_params.c.value)).all()
        )
        t = pd.DataFrame(
            conn.execute(sa.select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value)).all()
        )
        m = pd.DataFrame(
            conn.execute(
                sa.select(metric_series.c.run_id, metric_series.c.key, metric_series.c.last)
            ).all()
        )
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        auc = m[m.key == "auc"].set_index("run_id")["last"]
        model = p[p.key == "model"].set_index("run_id")["value"]
        team = t[t.key == "team"].set_index("run_id")["value"]
        df = r.set_index("id").join(auc.rename("auc")).join(model.rename("model"))
        df = df.join(team.rename("team"))
        sel = df[
            (df.auc > 0.5)
            & (df.model.isin(["rf", "gbm"]) | (df.team == "risk"))
            & (df.status == "finished")
        ]
        sel.sort_values("auc", ascending=False).head(100)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_series(ws: Any, n_points: int) -> tuple[float, float, int]:
    run = ws.start_run(experiment="bench-series", capture_env=False)
    rng = random.Random(1)
    for step in range(n_points):
        run.log_metric("loss", rng.random(), step=step)
    run.end()
    down, full = [], []
    s = None
    for _ in range(7):
        t0 = time.perf_counter()
        s = ws.runs.series(run.id, "loss", max_points=2000)
        down.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ws.runs.series(run.id, "loss")
        full.append(time.perf_counter() - t0)
    assert s is not None
    return statistics.median(down), statistics.median(full), len(s)


def baseline_series_rows(path: str, n_points: int) -> float:
    """The same series stored one SQL row per point (indexed), read and downsampled."""
    import numpy as np

    from shipyard.tracking import minmax_indices

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS pts (series_id INTEGER NOT NULL, step BIGINT NOT NULL, "
        "ts BIGINT NOT NULL, value FLOAT)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS ix_pts ON pts (series_id, step)")
    rng = random.Random(1)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO pts VALUES (?, ?, ?, ?)", [(7, s, 0, rng.random()) for s in range(n_points)]
    )
    conn.execute("COMMIT")
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        rows = conn.execute(
            "SELECT step, ts, value FROM pts WHERE series_id = 7 ORDER BY step"
        ).fetchall()
        arr = np.array(rows, dtype=np.float64)
        minmax_indices(arr[:, 2], 2000)
        times.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(times)


def run_all(label: str, ws: Any, scale: float, baseline_dir: str | None) -> None:
    n_runs, n_metrics, n_steps = 20, 5, max(100, int(10_000 * scale))
    print(f"\n== {label}: {ws.db.display_url}")
    elapsed, points = bench_logging(ws, n_runs, n_metrics, n_steps)
    rate = points / elapsed
    line = (
        f"logging   {points:,} points in {elapsed:.2f} s = {rate:,.0f} points/s (target >= 200,000)"
    )
    if baseline_dir is not None:
        base = baseline_executemany(
            os.path.join(baseline_dir, "baseline.db"), n_runs, n_metrics, n_steps
        )
        base_rate = points / base
        line += (
            f"\n          baseline sqlite3.executemany: {base:.2f} s = {base_rate:,.0f} points/s;"
            f" ratio {rate / base_rate:.0%} (target >= 50%)"
        )
    print(line)
    n_search = max(500, int(10_000 * scale))
    populate_search(ws, n_search, 20, 10)
    med, found = bench_search(ws)
    base = baseline_search_pandas(ws)
    print(
        f"search    {n_search:,} runs x 20 params x 10 metrics, OR + IN + order by metric, "
        f"limit 100: {med * 1000:.1f} ms median ({found} runs) (target <= 150 ms)\n"
        f"          baseline pandas in-memory filter (after loading the tables): "
        f"{base * 1000:.1f} ms"
    )
    n_points = max(10_000, int(100_000 * scale))
    down, full, kept = bench_series(ws, n_points)
    line = (
        f"series    {n_points:,} points -> {kept:,}: {down * 1000:.1f} ms median "
        f"(target <= 100 ms)\n          full read of the chunked series without downsampling: "
        f"{full * 1000:.1f} ms"
    )
    if baseline_dir is not None:
        rows = baseline_series_rows(os.path.join(baseline_dir, "rows.db"), n_points)
        line += (
            f"\n          baseline one-row-per-point table (sqlite3, indexed) read + "
            f"downsample: {rows * 1000:.1f} ms"
        )
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default=os.environ.get("SHIPYARD_BENCH_PG_URL"))
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with sy.Workspace(Path(tmp) / "ws") as ws:
            run_all("SQLite", ws, args.scale, tmp)
        if args.postgres:
            import psycopg

            schema = f"bench_{new_id().lower()}"
            with psycopg.connect(args.postgres, autocommit=True) as c:
                c.execute(f'CREATE SCHEMA "{schema}"')
            try:
                sep = "&" if "?" in args.postgres else "?"
                url = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
                with sy.Workspace(Path(tmp) / "pg", db=url) as ws:
                    run_all("PostgreSQL", ws, args.scale, None)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as c:
                    c.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
