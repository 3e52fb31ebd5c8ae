"""Demo step: export a churn model to ONNX, quantize it behind a gate, compare the two.

Trains a small neural-network pipeline on synthetic churn data (scaled numbers and
one-hot categories in a ColumnTransformer), registers it, exports it to ONNX (typed
inputs per column, parity checked on held-out rows), quantizes the ONNX model to int8
(``auto`` picks dynamic quantization for a dense network) gated on holdout accuracy,
and prints size, latency and accuracy before and after.

Run standalone with ``python examples/steps/export.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
import warnings
from typing import Any

NUMERIC = ["tenure_months", "monthly_charges", "support_tickets", "last_login_days"]
CATEGORICAL = ["contract", "payment_method", "internet_service", "region"]


def _pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    mlp = MLPClassifier((64, 32), max_iter=200, early_stopping=True, random_state=3)
    return Pipeline([("pre", pre), ("mlp", mlp)])


def run(ws: Any, console: Any) -> dict[str, Any]:
    import shipyard as sy
    from shipyard.data.synthetic import make_churn

    data = make_churn(5000, seed=21)[[*NUMERIC, *CATEGORICAL, "churned"]]
    train, test = data.iloc[:4000].reset_index(drop=True), data.iloc[4000:].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _pipeline().fit(train[NUMERIC + CATEGORICAL], train["churned"])
    holdout = ws.datasets.commit("churn-holdout", test, message="held-out churn rows")
    v = ws.models.register(
        "churn-mlp",
        model,
        datasets=[train],
        input_example=train[NUMERIC + CATEGORICAL].head(5),
        description="Churn risk from account features (dense network).",
    )
    console.print(f"registered {v.ref} ({v.flavor}, {v.size_bytes:,} bytes)")

    onnx_v = sy.export.to_onnx(v, dataset=holdout, ws=ws)
    o = sy.export.report(onnx_v, ws=ws).report
    console.print(
        f"exported {onnx_v.ref}: parity max |Δp| {o['parity']['max_abs_diff']:.2g}, labels agree "
        f"{o['parity']['label_agreement']:.1%}; batch-1 p50 "
        f"{o['latency']['before']['batch_1']['p50_ms']:.3f} ms (scikit-learn) → "
        f"{o['latency']['after']['batch_1']['p50_ms']:.3f} ms (ONNX Runtime)"
    )
    q = sy.export.quantize(onnx_v, "auto", dataset=holdout, ws=ws)
    r = sy.export.report(q, ws=ws).report
    gate = r["gate"]
    console.print(
        f"quantized {q.ref} ({r['method']} int8): {r['size']['before']:,} → {r['size']['after']:,} "
        f"bytes ({r['size']['ratio']}x smaller), accuracy {gate['before']:.4f} → "
        f"{gate['after']:.4f} (gate: at most {gate['tolerance'] * 100:g} point lost)"
    )
    return {
        "model": v.ref,
        "onnx": onnx_v.ref,
        "quantized": q.ref,
        "parity_max_abs_diff": o["parity"]["max_abs_diff"],
        "sklearn_batch1_p50_ms": o["latency"]["before"]["batch_1"]["p50_ms"],
        "onnx_batch1_p50_ms": o["latency"]["after"]["batch_1"]["p50_ms"],
        "int8_batch1_p50_ms": r["latency"]["after"]["batch_1"]["p50_ms"],
        "size_ratio": r["size"]["ratio"],
        "accuracy_float": gate["before"],
        "accuracy_int8": gate["after"],
    }


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as tmp, sy.Workspace(tmp) as ws:
        Console().print(run(ws, Console()))
