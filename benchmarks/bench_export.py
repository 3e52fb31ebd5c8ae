"""Export benchmarks: each figure next to its baseline, measured in the same run.

1. RandomForest (100 trees, depth 8, 20 features), batch-1 latency: the ONNX export run
   by ONNX Runtime vs scikit-learn ``predict_proba`` (target: >= 5x faster).
2. Digits CNN: static int8 (QDQ, calibrated) vs float32 ONNX — file size (target
   >= 3.5x smaller), accuracy (<= 1 point lost), latency at batch 1 and 32.
3. Distilled MLP student vs the CNN teacher — parameters (>= 4x fewer), accuracy
   (<= 2 points lost), latency.

Models are called through Shipyard's registry (``ws.models.load``): ONNX Runtime with
the registry's session options, PyTorch with one thread.

Run: ``python benchmarks/bench_export.py [CNN_EPOCHS]`` (a temporary SQLite workspace).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "digits"))


def p50_p95_ms(fn: Callable[[], Any], n: int = 300, budget_s: float = 3.0) -> tuple[float, float]:
    for _ in range(10):
        fn()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < n and (len(samples) < 20 or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    ms = np.asarray(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def check(label: str, ok: bool) -> str:
    return f"{label}: {'PASS' if ok else 'FAIL'}"


def bench_forest(ws: Any) -> list[str]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import shipyard as sy

    X, y = make_classification(4000, 20, n_informative=12, random_state=0)
    X = X.astype(np.float32)
    rf = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(
        X[:3000], y[:3000]
    )
    v = ws.models.register("forest", rf, input_example=X[:3])
    o = sy.export.to_onnx(v, dataset=(X[3000:], y[3000:]), ws=ws, benchmark=False)
    sess = ws.models.load(o).raw
    row = X[3000:3001]
    sk = p50_p95_ms(lambda: rf.predict_proba(row))
    ort_raw = p50_p95_ms(lambda: sess.run(None, {"input": row}))
    pred = ws.models.load(o)
    ort_pred = p50_p95_ms(lambda: pred.predict_proba(row))
    par = sy.export.report(o, ws=ws).report["parity"]
    lines = [
        "== RandomForest 100 trees, depth 8, 20 features, batch 1 ==",
        f"scikit-learn predict_proba        p50 {sk[0]:8.3f} ms  p95 {sk[1]:8.3f} ms   (baseline)",
        f"ONNX Runtime session.run          p50 {ort_raw[0]:8.3f} ms  p95 {ort_raw[1]:8.3f} ms",
        f"ONNX via ws.models.load(...)      p50 {ort_pred[0]:8.3f} ms  p95 {ort_pred[1]:8.3f} ms",
        f"speed-up (session / registry)     {sk[0] / ort_raw[0]:.1f}x / "
        f"{sk[0] / ort_pred[0]:.1f}x   "
        f"parity: max |dp| {par['max_abs_diff']:.2g}, labels {par['label_agreement']:.1%}",
        check(
            "ONNX Runtime >= 5x faster than scikit-learn (registry path)", sk[0] / ort_pred[0] >= 5
        ),
    ]
    return lines


def bench_cnn(ws: Any, epochs: int) -> list[str]:
    import torch
    from digits_models import DigitsMLP, parameters, train_cnn
    from sklearn.datasets import load_digits

    import shipyard as sy

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)[:, None]
    perm = np.random.default_rng(0).permutation(len(images))
    tr, te = perm[:1400], perm[1400:]
    Xtr, ytr, Xte, yte = images[tr], d.target[tr], images[te], d.target[te]
    t0 = time.perf_counter()
    cnn = train_cnn(Xtr, ytr, epochs=epochs)
    train_s = time.perf_counter() - t0
    teacher = ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xte[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    onnx_v = sy.export.to_onnx(teacher, dataset=(Xte, yte), ws=ws, benchmark=False)
    q = sy.export.quantize(
        onnx_v, "static", dataset=(Xtr, ytr), holdout=(Xte, yte), ws=ws, benchmark=False
    )
    r = sy.export.report(q, ws=ws).report
    f32, i8 = ws.models.load(onnx_v), ws.models.load(q)
    lat = {}
    for name, p in (("float32", f32), ("int8", i8)):
        for b in (1, 32):
            x = Xte[:b]
            lat[name, b] = p50_p95_ms(lambda p=p, x=x: p.predict_proba(x))
    ratio, drop = r["size"]["ratio"], (r["gate"]["before"] - r["gate"]["after"]) * 100
    lines = [
        f"== Digits CNN ({parameters(cnn):,} parameters, "
        f"trained {epochs} epochs in {train_s:.0f}s) ==",
        f"float32 ONNX    {r['size']['before']:>9,} bytes  "
        f"accuracy {r['gate']['before']:.4f}   (baseline)",
        f"int8 static QDQ {r['size']['after']:>9,} bytes  accuracy {r['gate']['after']:.4f}   "
        f"({ratio:.2f}x smaller, {drop:+.2f} points lost)",
    ]
    for b in (1, 32):
        a, c = lat["float32", b], lat["int8", b]
        lines.append(
            f"batch {b:>2}: float32 p50 {a[0]:.3f} ms p95 {a[1]:.3f} ms | "
            f"int8 p50 {c[0]:.3f} ms p95 {c[1]:.3f} ms"
        )
    lines += [
        check("int8 >= 3.5x smaller", ratio >= 3.5),
        check("<= 1 point accuracy lost", drop <= 1.0),
    ]

    torch.manual_seed(0)
    student = sy.export.distill(
        teacher,
        DigitsMLP(256),
        (Xtr, ytr),
        holdout=(Xte, yte),
        temperature=4.0,
        alpha=0.7,
        epochs=40,
        lr=2e-3,
        ws=ws,
        benchmark=False,
    )
    sr = sy.export.report(student, ws=ws).report
    sp, tp = ws.models.load(student), ws.models.load(teacher)
    s1, t1 = (
        p50_p95_ms(lambda: sp.predict_proba(Xte[:1])),
        p50_p95_ms(lambda: tp.predict_proba(Xte[:1])),
    )
    s32, t32 = (
        p50_p95_ms(lambda: sp.predict_proba(Xte[:32])),
        p50_p95_ms(lambda: tp.predict_proba(Xte[:32])),
    )
    loss = (sr["metric"]["before"] - sr["metric"]["after"]) * 100
    pr = sr["parameters"]
    lines += [
        "== Distillation: CNN teacher -> MLP student (PyTorch, via the registry) ==",
        f"teacher  {pr['teacher']:>8,} params  accuracy {sr['metric']['before']:.4f}  "
        f"p50 b1 {t1[0]:.3f} ms  b32 {t32[0]:.3f} ms   (baseline)",
        f"student  {pr['student']:>8,} params  accuracy {sr['metric']['after']:.4f}  "
        f"p50 b1 {s1[0]:.3f} ms  b32 {s32[0]:.3f} ms   "
        f"({pr['ratio']:.1f}x fewer, {loss:+.2f} points lost)",
        check(">= 4x fewer parameters", pr["ratio"] >= 4),
        check("<= 2 points accuracy lost", loss <= 2.0),
    ]
    return lines


def main() -> None:
    import torch

    import shipyard as sy

    torch.set_num_threads(1)
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp, sy.Workspace(tmp) as ws:
        import onnxruntime as ort

        ort.set_default_logger_severity(3)
        for line in bench_forest(ws) + bench_cnn(ws, epochs):
            print(line, flush=True)


if __name__ == "__main__":
    main()
