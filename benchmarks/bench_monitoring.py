"""Monitoring benchmarks: each figure next to its baseline, measured in the same run.

    python benchmarks/bench_monitoring.py

Targets (local blob store):
  drift check, 100,000 current rows x 20 columns (15 numeric, 5 categorical) against a
  stored 100,000-row reference, end to end (reading the logs' Parquet files, loading
  the stored reference statistics, every column's test and PSI)      <= 1 s
      baseline: a per-column scipy loop over the raw pandas data (KS / Wasserstein for
      numeric columns, chi-square for categorical ones), no PSI
  health summary of 1,000,000 prediction log rows (request rate, error rate,
  latency p50/p95/p99 per model version)                              <= 1 s
      baseline: pandas groupby over the same rows already in memory
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

import shipyard as sy
from shipyard.monitoring import ReferenceStats, compute_drift, read_prediction_logs
from shipyard.monitoring._health import health_summary
from shipyard.monitoring._logs import write_log_table

N = 100_000
N_NUM, N_CAT = 15, 5
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for j in range(N_NUM):
        cols[f"num_{j}"] = rng.normal(j + (shift if j < 5 else 0.0), 1 + j / 10, n)
    levels = np.array([f"level_{k}" for k in range(12)])
    for j in range(N_CAT):
        p = np.linspace(1, 2 + j, 12)
        if shift and j < 2:
            p = p[::-1]
        cols[f"cat_{j}"] = rng.choice(levels, n, p=p / p.sum())
    return pd.DataFrame(cols)


def log_table(df: pd.DataFrame, start: datetime, seconds: float) -> pa.Table:
    n = len(df)
    ts = pd.date_range(start, start + timedelta(seconds=seconds), periods=n, tz="UTC")
    rng = np.random.default_rng(7)
    base = {
        "request_id": pa.array([f"r{i}" for i in range(n)]),
        "row": pa.array(np.zeros(n, dtype=np.int32)),
        "ts": pa.array(ts.to_numpy(), pa.timestamp("us", tz="UTC")),
        "model": pa.array(["bench"] * n),
        "version": pa.array(np.where(np.arange(n) % 2 == 0, 1, 2).astype(np.int32)),
        "deployment": pa.array(["prod"] * n),
        "protocol": pa.array(["v2"] * n),
        "status": pa.array(np.where(rng.random(n) < 0.01, 500, 200).astype(np.int16)),
        "latency_ms": pa.array(rng.gamma(2.0, 3.0, n)),
    }
    for c in df.columns:
        base[f"in_{c}"] = pa.array(df[c].to_numpy())
    base["out_predict"] = pa.array(rng.random(n))
    return pa.table(base)


def row(what: str, value: float, baseline: float, target: str, base_label: str) -> None:
    ratio = value / baseline if baseline else float("nan")
    print(
        f"{what:<46} {value:7.3f} s   {base_label}: {baseline:7.3f} s   "
        f"({ratio:5.2f}x)   target {target}"
    )


def baseline_drift(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, float]:
    from scipy import stats

    out = {}
    for c in ref.columns:
        if ref[c].dtype.kind == "f":
            out[c] = stats.ks_2samp(ref[c], cur[c]).pvalue
            out[c + ":w"] = stats.wasserstein_distance(ref[c], cur[c]) / ref[c].std()
        else:
            a, b = ref[c].value_counts(), cur[c].value_counts()
            tab = pd.concat([a, b], axis=1).fillna(0).to_numpy().T
            out[c] = stats.chi2_contingency(tab).pvalue
    return out


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory() as tmp, sy.Workspace(f"{tmp}/ws") as ws:
        ref_df = frame(N, 1)
        cur_df = frame(N, 2, shift=0.5)
        t = time.perf_counter()
        ref = ReferenceStats.from_table(ref_df)
        digest = ws.blobs.put_bytes(json.dumps(ref.to_dict()).encode())
        print(f"reference statistics, computed once and stored   {time.perf_counter() - t:7.3f} s")
        # the current window as the server's sink writes it: a few rolling files
        cur_logs = log_table(cur_df, T0, 3000)
        for k in range(4):
            part = cur_logs.slice(k * N // 4, N // 4)
            write_log_table(ws, part, model="bench", version=1, deployment="prod")
        mapping = {f"in_{c}": c for c in ref_df.columns}

        def ours() -> dict[str, object]:
            stats = ReferenceStats.from_dict(json.loads(ws.blobs.get_bytes(digest)))
            table = read_prediction_logs(ws, "bench", 1, T0, T0 + timedelta(hours=1), list(mapping))
            return compute_drift(stats, table, columns=mapping).to_dict()

        ours()  # warm imports (scipy, duckdb)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            res = ours()
            runs.append(time.perf_counter() - t)
        took = min(runs)
        t = time.perf_counter()
        baseline_drift(ref_df, cur_df)
        base = time.perf_counter() - t
        row("drift check 100k x 20 vs stored 100k reference", took, base, "<= 1 s", "scipy loop")
        drifted = res["drifted_columns"]
        print(f"    drifted columns: {len(drifted)} of 20 (expected 7): {', '.join(drifted)}")
        ok &= took <= 1.0

        # 1,000,000 log rows in 10 files
        big = log_table(frame(N, 3), T0, 3000)
        for k in range(10):
            shifted = big.set_column(
                big.column_names.index("ts"),
                "ts",
                pa.array(
                    (big.column("ts").to_pandas() + pd.Timedelta(seconds=3000 * k)).to_numpy(),
                    pa.timestamp("us", tz="UTC"),
                ),
            )
            write_log_table(ws, shifted, model="bench2", version=1 + k % 2, deployment="prod")
        health_summary(ws, "bench2")
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            h = health_summary(ws, "bench2")
            runs.append(time.perf_counter() - t)
        took = min(runs)
        pdf = read_prediction_logs(
            ws, "bench2", columns=["version", "status", "latency_ms", "ts"]
        ).to_pandas()
        t = time.perf_counter()
        g = pdf.groupby("version")
        g.agg(
            n=("status", "size"),
            err=("status", lambda s: (s >= 400).mean()),
            p50=("latency_ms", lambda s: s.quantile(0.5)),
            p95=("latency_ms", lambda s: s.quantile(0.95)),
            p99=("latency_ms", lambda s: s.quantile(0.99)),
        )
        base = time.perf_counter() - t
        row("health summary, 1,000,000 log rows", took, base, "<= 1 s", "pandas in memory")
        print(f"    rows {sum(x['rows'] for x in h):,}; versions {[x['version'] for x in h]}")
        ok &= took <= 1.0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
