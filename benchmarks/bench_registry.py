"""Registry benchmarks: each figure next to its baseline, measured in the same run.

* Predictor.predict at batch 1 (signature validation + flavor call) vs calling the
  native model directly — the registry's per-call overhead;
* the same model as an ONNX version (ONNX Runtime) vs the scikit-learn Predictor;
* a dict of columns vs a DataFrame into a column-signature Predictor (pandas-free path);
* alias moves per second (locked read-modify-write + history row) vs a bare UPDATE.

Run: ``python benchmarks/bench_registry.py`` (a temporary SQLite workspace).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def per_call_us(fn: Callable[[], Any], n: int = 2000) -> float:
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return float(np.percentile(samples, 50) * 1e6)


def main() -> None:
    import pandas as pd
    import sqlalchemy as sa
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    import shipyard as sy

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 16)).astype(np.float32)
    y = (X[:, :4].sum(axis=1) > 0).astype(int)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    cols = [f"f{i}" for i in range(16)]
    frame = pd.DataFrame(X, columns=cols)
    clf_cols = LogisticRegression(max_iter=500).fit(frame, y)

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        ws.models.register("bench", clf, input_example=X[:2])
        onx = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}})
        ws.models.register("bench-onnx", onx)
        ws.models.register("bench-cols", clf_cols, input_example=frame.head(2))
        p = ws.models.load("bench")
        po = ws.models.load("bench-onnx")
        pc = ws.models.load("bench-cols")
        row = X[:1]
        row_cols = {c: frame[c].to_numpy()[:1] for c in cols}
        row_frame = frame.head(1)

        raw = per_call_us(lambda: clf.predict(row))
        via = per_call_us(lambda: p.predict(row))
        onnx = per_call_us(lambda: po.predict(row))
        dict_in = per_call_us(lambda: pc.predict(row_cols))
        frame_in = per_call_us(lambda: pc.predict(row_frame))
        raw_frame = per_call_us(lambda: clf_cols.predict(row_frame))

        print("batch-1 predict, median per call (16 features, logistic regression)")
        rows = [
            ("Predictor (sklearn)", via, "raw sklearn.predict", raw),
            ("Predictor (onnx, ORT)", onnx, "Predictor (sklearn)", via),
            ("column signature, dict input", dict_in, "DataFrame input", frame_in),
        ]
        for label, value, base_label, base in rows:
            print(f"  {label:29s}{value:9.1f} µs   baseline {base_label:21s}{base:9.1f} µs")
        print(f"  raw sklearn on a DataFrame   {raw_frame:8.1f} µs")

        for _ in range(2):
            ws.models.register("m", clf)
        n = 300
        t0 = time.perf_counter()
        for i in range(n):
            ws.models.set_alias("m", "champion", version=1 + i % 2, reason="bench")
        moves = n / (time.perf_counter() - t0)
        from shipyard.registry.tables import model_aliases

        t0 = time.perf_counter()
        for _ in range(n):
            with ws.db.write() as conn:
                conn.execute(
                    sa.update(model_aliases)
                    .where(model_aliases.c.alias == "champion")
                    .values(updated_at=sy.core.utcnow())
                )
        bare = n / (time.perf_counter() - t0)
        print(f"alias moves (SQLite)  {moves:9.0f} /s   baseline bare UPDATE txn {bare:9.0f} /s")


if __name__ == "__main__":
    main()
