"""Measuring models: a uniform runner, task metrics, parity and in-process latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import InvalidInput
from ..registry import LoadedModel, Signature
from ._data import Rows

METRICS = ("accuracy", "f1_macro", "r2", "neg_mae", "agreement")
"""Holdout metrics (higher is better); ``agreement`` needs no labels."""


@dataclass
class Runner:
    """``prepare`` / ``predict`` / ``predict_proba`` of a registered version or a candidate."""

    what: str
    prepare: Callable[[Any], Any]
    predict: Callable[[Any], np.ndarray]
    predict_proba: Callable[[Any], np.ndarray] | None

    @classmethod
    def of_predictor(cls, predictor: Any) -> Runner:
        def prepare(x: Any) -> Any:
            return _columns(predictor.prepare(x))

        return cls(
            predictor.version.ref,
            prepare,
            lambda x: predictor.predict(prepare(x)),
            (lambda x: predictor.predict_proba(prepare(x))) if predictor.has_proba else None,
        )

    @classmethod
    def of_loaded(cls, what: str, loaded: LoadedModel, signature: Signature | None) -> Runner:
        def prepare(x: Any) -> Any:
            if signature is None:
                return x
            return _columns(signature.prepare(x, f"the input to {what}"))

        proba = loaded.predict_proba
        return cls(
            what,
            prepare,
            lambda x: loaded.predict(prepare(x)),
            (lambda x: proba(prepare(x))) if proba is not None else None,
        )

    @property
    def is_classifier(self) -> bool:
        return self.predict_proba is not None

    def outputs(self, X: Any) -> np.ndarray:
        """Probabilities for classifiers, else predictions, as a 2-D float array."""
        out = self.predict_proba(X) if self.predict_proba is not None else self.predict(X)
        out = np.asarray(out, dtype=np.float64)
        return out.reshape(len(out), -1)


def _columns(prepared: Any) -> Any:
    """Prepared inputs as one array or a dict of 1-D columns (never a DataFrame), the form
    every flavor takes."""
    if hasattr(prepared, "columns") and hasattr(prepared, "iloc"):
        return {str(c): prepared[c].to_numpy() for c in prepared.columns}
    return prepared


def parity(
    source: Runner,
    candidate: Runner,
    rows: Rows,
    *,
    atol: float = 1e-4,
    rtol: float = 1e-3,
    min_agreement: float = 0.99,
) -> dict[str, Any]:
    """Compare outputs row by row: max/mean abs diff, rows within tolerance, labels."""
    X = rows.X
    a, b = source.outputs(X), candidate.outputs(X)
    if a.shape != b.shape:
        return {
            "rows": len(rows),
            "passed": False,
            "data": rows.label,
            "reason": f"output shapes differ: {a.shape} (source) vs {b.shape} (exported)",
        }
    diff = np.abs(a - b)
    close_rows = np.all(diff <= atol + rtol * np.abs(a), axis=1)
    report: dict[str, Any] = {
        "rows": len(rows),
        "data": rows.label,
        "compared": "probabilities" if source.is_classifier else "predictions",
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "rows_within_tolerance": float(close_rows.mean()) if len(close_rows) else 1.0,
        "label_agreement": None,
        "atol": atol,
        "rtol": rtol,
        "min_agreement": min_agreement,
    }
    if source.is_classifier:
        report["label_agreement"] = agreement(source.predict(X), candidate.predict(X))
    problems = []
    if not np.all(np.isfinite(b)):
        problems.append("the exported model returns NaN or infinite values")
    if report["rows_within_tolerance"] < min_agreement:
        problems.append(
            f"only {report['rows_within_tolerance']:.1%} of rows match within "
            f"atol={atol:g}+rtol={rtol:g} (max abs diff {report['max_abs_diff']:.3g}); "
            f"need {min_agreement:.1%}"
        )
    if report["label_agreement"] is not None and report["label_agreement"] < min_agreement:
        problems.append(
            f"predicted labels agree on {report['label_agreement']:.1%} of rows; "
            f"need {min_agreement:.1%}"
        )
    report["passed"] = not problems
    report["reason"] = "; ".join(problems)
    return report


def agreement(a: Any, b: Any) -> float:
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.dtype.kind != b.dtype.kind:
        a, b = _comparable(a), _comparable(b)
    return float(np.mean(a == b)) if len(a) else 1.0


def _comparable(x: np.ndarray) -> np.ndarray:
    """Labels as numbers when they are numbers (True == 1, 2 == 2.0), else as text."""
    try:
        return x.astype(np.float64)
    except (TypeError, ValueError):
        return x.astype(str)


def pick_metric(runner: Runner, rows: Rows, metric: str | None) -> str:
    if metric is not None:
        if metric not in METRICS:
            raise InvalidInput(
                f"unknown metric {metric!r}; use one of {', '.join(METRICS)}",
                details={"metric": metric},
            )
        if metric != "agreement" and rows.y is None:
            raise InvalidInput(
                f"metric {metric!r} needs labels, and {rows.label} has none; pass target= "
                "naming the label column, or use metric='agreement'",
                details={"metric": metric},
            )
        return metric
    if rows.y is None:
        return "agreement"
    return "accuracy" if runner.is_classifier or rows.y.dtype.kind in "iubOUS" else "r2"


def score(runner: Runner, rows: Rows, metric: str, reference: Runner | None = None) -> float:
    """*metric* of *runner* on *rows* (``agreement``: with *reference*'s predictions)."""
    pred = runner.predict(rows.X)
    if metric == "agreement":
        if reference is None:
            return 1.0
        return agreement(reference.predict(rows.X), pred)
    y = rows.y
    assert y is not None
    pred = np.asarray(pred).reshape(len(y), -1)
    pred = pred[:, 0] if pred.shape[1] == 1 else pred.argmax(axis=1)
    if metric == "accuracy":
        return agreement(y, pred)
    if metric == "f1_macro":
        from sklearn.metrics import f1_score

        if y.dtype.kind != pred.dtype.kind:
            y, pred = y.astype(str), pred.astype(str)
        return float(f1_score(y, pred, average="macro"))
    yf, pf = y.astype(np.float64), pred.astype(np.float64)
    if metric == "r2":
        ss = float(((yf - yf.mean()) ** 2).sum())
        return 1.0 - float(((yf - pf) ** 2).sum()) / ss if ss else 0.0
    return -float(np.abs(yf - pf).mean())


def latency(
    fn: Callable[[Any], Any],
    batch: Any,
    *,
    budget_s: float = 0.5,
    max_runs: int = 500,
    warmup: int = 3,
) -> dict[str, float]:
    """p50 / p95 milliseconds of ``fn(batch)``, within a time budget."""
    for _ in range(warmup):
        fn(batch)
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_runs and (len(times) < 5 or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1e3
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p95_ms": round(float(np.percentile(ms, 95)), 4),
        "runs": len(times),
    }


def latencies(
    runner: Runner, rows: Rows, batches: tuple[int, ...] = (1, 32), budget_s: float = 0.5
) -> dict[str, dict[str, float]]:
    """Latency of the runner's main output at each batch size (inputs prepared first)."""
    fn = runner.predict_proba or runner.predict
    out = {}
    for b in batches:
        prepared = runner.prepare(rows.batch(b))
        out[f"batch_{b}"] = latency(fn, prepared, budget_s=budget_s)
    return out
