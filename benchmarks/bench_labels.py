"""Labeling benchmarks: each figure next to a baseline measured in the same run.

    python benchmarks/bench_labels.py [--tasks 100000] [--requests 300] [--no-postgres]

Targets (100,000 tasks x 3 annotations): agreement + Dawid-Skene <= 5 s; next task +
submit p99 <= 20 ms over HTTP (SQLite and PostgreSQL); bulk import <= 10 s; export <= 10 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests._support.run_uvicorn


def _t(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def row(name: str, value: str, baseline: str, target: str = "") -> None:
    print(f"  {name:<44} {value:>12}   baseline {baseline:>12}   {target}")


# ----------------------------------------------------------------- algorithms
def python_fleiss(item: np.ndarray, label: np.ndarray, k: int) -> float:
    """The obvious implementation: a dict of per-item counters and a Python loop."""
    per: dict[int, Counter[int]] = defaultdict(Counter)
    for i, c in zip(item.tolist(), label.tolist(), strict=True):
        per[i][c] += 1
    totals: Counter[int] = Counter()
    p_sum, n_items, n_ratings = 0.0, 0, 0
    for counts in per.values():
        n = sum(counts.values())
        if n < 2:
            continue
        n_items += 1
        n_ratings += n
        p_sum += sum(v * (v - 1) for v in counts.values()) / (n * (n - 1))
        totals.update(counts)
    pe = sum((v / n_ratings) ** 2 for v in totals.values())
    return (p_sum / n_items - pe) / (1 - pe)


def add_at_dawid_skene(
    item: np.ndarray, rater: np.ndarray, label: np.ndarray, n: int, k: int, iters: int
) -> np.ndarray:
    """A textbook numpy Dawid-Skene with np.add.at, run for the same iterations."""
    r = rater.max() + 1
    t = np.zeros((n, k))
    np.add.at(t, (item, label), 1)
    t /= t.sum(1, keepdims=True)
    for _ in range(iters):
        pri = t.mean(0)
        conf = np.full((r, k, k), 0.01)
        np.add.at(conf, (rater, slice(None), label), t[item])
        conf /= conf.sum(2, keepdims=True)
        lt = np.tile(np.log(pri), (n, 1))
        np.add.at(lt, item, np.log(conf[rater, :, label]))
        lt -= lt.max(1, keepdims=True)
        t = np.exp(lt)
        t /= t.sum(1, keepdims=True)
    return t


def bench_algorithms(n: int) -> tuple[Any, Any, Any, Any]:
    from shipyard.labels import agreement_report, dawid_skene, majority_vote
    from shipyard.labels.simulate import Crowd

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, n)
    crowd = Crowd.make(20, accuracy=list(rng.uniform(0.6, 0.9, 20)), spammers=3, seed=1)
    item, rater, label = crowd.label(truth, 4, overlap=3)
    print(f"\nAlgorithms in memory: {n:,} items x 3 annotations, 20 annotators (3 spammers)")
    ta, _rep = _t(
        lambda: agreement_report(item, rater, label, classes=list("abcd"), raters=crowd.names)
    )
    tb, _ = _t(lambda: python_fleiss(item, label, 4))
    row(
        "agreement (Fleiss, alpha, AC1, pairs, per class)",
        f"{ta:.2f} s",
        f"{tb:.2f} s",
        "(baseline: Python-loop Fleiss only)",
    )
    td, ds = _t(lambda: dawid_skene(item, rater, label, n, 4))
    tn, _ = _t(lambda: add_at_dawid_skene(item, rater, label, n, 4, ds.n_iter))
    row(
        f"Dawid-Skene ({ds.n_iter} EM iterations)",
        f"{td:.2f} s",
        f"{tn:.2f} s",
        "(baseline: np.add.at EM, same iterations)",
    )
    row("agreement + Dawid-Skene", f"{ta + td:.2f} s", "-", "target <= 5 s")
    mv = majority_vote(item, rater, label, n, 4)
    row(
        "accuracy vs truth: Dawid-Skene / majority",
        f"{ds.accuracy(truth):.4f}",
        f"{mv.accuracy(truth):.4f}",
    )
    return truth, item, rater, label


# ----------------------------------------------------------------- workspace
@contextmanager
def workspaces(postgres: bool) -> Any:
    import shipyard as sy

    tmp = Path(tempfile.mkdtemp(prefix="bench-labels-"))
    out = [("SQLite", sy.Workspace(tmp / "sqlite"))]
    schema = None
    if postgres:
        try:
            import psycopg

            from shipyard.core import new_id

            base = "postgresql://127.0.0.1:5432/test"
            schema = f"bench_{new_id().lower()}"
            with psycopg.connect(base, autocommit=True) as c:
                c.execute(f'CREATE SCHEMA "{schema}"')
            url = f"{base}?options=-csearch_path%3D{schema}"
            out.append(("PostgreSQL", sy.Workspace(tmp / "pg", db=url)))
        except Exception as exc:  # pragma: no cover - depends on the machine
            print(f"  (PostgreSQL skipped: {exc})")
    try:
        yield out
    finally:
        for _, w in out:
            w.close()
        if schema:
            import psycopg

            with psycopg.connect("postgresql://127.0.0.1:5432/test", autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def naive_import(ws: Any, n: int) -> float:
    """Baseline: one INSERT statement per task (in one transaction), on n tasks."""
    import sqlalchemy as sa

    from shipyard.core import new_id, utcnow
    from shipyard.labels.tables import label_projects, label_tasks

    pid = new_id()
    with ws.db.write() as conn:
        conn.execute(
            label_projects.insert(),
            {
                "id": pid,
                "name": f"naive-{pid}",
                "kind": "classification",
                "classes": ["a", "b"],
                "instructions": "",
                "overlap": 3,
                "gold_fraction": 0.0,
                "source": {},
                "payload_digest": "sha256:0",
                "config": {},
                "n_tasks": n,
                "n_gold": 0,
                "n_complete": 0,
                "n_annotations": 0,
                "queue_version": 0,
                "created_at": utcnow(),
            },
        )
    t0 = time.perf_counter()
    with ws.db.write() as conn:
        for i in range(n):
            conn.execute(
                label_tasks.insert().values(
                    project_id=pid,
                    row=i,
                    position=i,
                    is_open=True,
                    is_gold=False,
                    n_assigned=0,
                    n_done=0,
                )
            )
    took = time.perf_counter() - t0
    with ws.db.write() as conn:
        conn.execute(label_tasks.delete().where(label_tasks.c.project_id == pid))
        conn.execute(sa.delete(label_projects).where(label_projects.c.id == pid))
    return took


def p99(samples: list[float]) -> float:
    return float(np.percentile(samples, 99)) * 1000


def bench_workspace(
    label: str, ws: Any, n: int, requests: int, truth: Any, annotations: Any
) -> None:
    import httpx
    from tests._support import run_uvicorn

    from shipyard.server import create_app

    print(f"\n{label}: {n:,} tasks")
    texts = [f"review {i}: " + "lorem ipsum " * 8 for i in range(n)]
    df = pd.DataFrame({"text": texts, "truth": np.array(list("abcd"))[truth]})
    ti, p = _t(
        lambda: ws.labels.create_project(
            f"bench-{label.lower()}",
            df,
            classes=list("abcd"),
            overlap=3,
            gold_fraction=0.01,
            gold_column="truth",
        )
    )
    m = min(n, 10_000)
    tn = naive_import(ws, m) * n / m
    row(
        "bulk import (create_project)",
        f"{ti:.2f} s",
        f"{tn:.2f} s",
        f"target <= 10 s (baseline: INSERT per task, {m:,} extrapolated)",
    )

    item, rater, lab = annotations
    names = [f"crowd-{i}" for i in range(int(rater.max()) + 1)]
    recs = pd.DataFrame(
        {"row": item, "annotator": np.array(names)[rater], "label": np.array(list("abcd"))[lab]}
    )
    tl, _ = _t(lambda: ws.labels.import_annotations(p, recs))
    row(f"load {len(recs):,} annotations (import_annotations)", f"{tl:.2f} s", "-")
    ta, _ = _t(lambda: ws.labels.agreement(p))
    td, _ = _t(lambda: ws.labels.infer(p, "dawid_skene"))
    row(
        "agreement + Dawid-Skene from the DB",
        f"{ta + td:.2f} s",
        "-",
        f"target <= 5 s (agreement {ta:.2f} s, DS {td:.2f} s)",
    )
    te, out = _t(lambda: ws.labels.export(p))
    frame = out.frame
    buf = Path(tempfile.mkdtemp()) / "x.parquet"
    tp, _ = _t(lambda: frame.to_parquet(buf))
    where = "dataset version" if out.dataset_version is not None else "parquet blob"
    row(
        f"export ({where})",
        f"{te:.2f} s",
        f"{tp:.2f} s",
        "target <= 10 s (baseline: DataFrame.to_parquet)",
    )

    # HTTP: fresh project of n tasks, annotators take and submit tasks in turn
    q = ws.labels.create_project(f"http-{label.lower()}", df, classes=list("abcd"), overlap=3)
    for i in range(4):
        ws.labels.ensure_annotator(f"http-{i}")
    lat: list[float] = []
    health: list[float] = []
    with run_uvicorn(create_app(ws)) as url, httpx.Client(base_url=url) as c:
        for k in range(requests + 20):
            who = f"http-{k % 4}"
            t0 = time.perf_counter()
            r = c.post(f"/api/v1/labels/projects/{q.id}/next", json={"annotator": who})
            row_ = r.json()["task"]["row"]
            c.post(
                f"/api/v1/labels/projects/{q.id}/tasks/{row_}/annotations",
                json={"annotator": who, "label": "a"},
            )
            dt = time.perf_counter() - t0
            t1 = time.perf_counter()
            c.get("/api/v1/health")
            dh = time.perf_counter() - t1
            if k >= 20:  # warm-up
                lat.append(dt)
                health.append(dh)
    row(
        "next + submit over HTTP, p99",
        f"{p99(lat):.1f} ms",
        f"{p99(health):.1f} ms",
        "target <= 20 ms (baseline: GET /health p99)",
    )
    row(
        "next + submit over HTTP, median",
        f"{statistics.median(lat) * 1000:.1f} ms",
        f"{statistics.median(health) * 1000:.1f} ms",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    truth, item, rater, label = bench_algorithms(args.tasks)
    with workspaces(not args.no_postgres) as wss:
        for name, ws in wss:
            bench_workspace(name, ws, args.tasks, args.requests, truth, (item, rater, label))


if __name__ == "__main__":
    main()
