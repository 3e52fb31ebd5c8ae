"""Metrics by task (scikit-learn), calibration error, slices."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._suite import LOWER_IS_BETTER

CLASSIFICATION = "classification"
REGRESSION = "regression"
_BOUNDED = {"accuracy", "precision", "recall", "f1", "auc", "r2", "ece"}


def infer_task(y: Any, has_proba: bool) -> str:
    if has_proba:
        return CLASSIFICATION
    arr = np.asarray(y)
    if arr.dtype.kind in "OUSb":
        return CLASSIFICATION
    if arr.dtype.kind == "f":
        finite = arr[~np.isnan(arr)]
        if len(finite) and np.all(np.mod(finite, 1) == 0) and len(np.unique(finite)) <= 20:
            return CLASSIFICATION
        return REGRESSION
    return CLASSIFICATION if len(np.unique(arr)) <= 20 else REGRESSION


def classification_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    classes: list[Any] | None,
    target_class: Any = None,
) -> dict[str, Any]:
    from sklearn import metrics as skm

    labels = _labels(y, pred, classes)
    binary = len(labels) <= 2
    out: dict[str, Any] = {"accuracy": float(skm.accuracy_score(y, pred))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if binary and len(labels) == 2:
            pos = target_class if target_class is not None else labels[-1]
            kw: dict[str, Any] = {"pos_label": pos, "average": "binary", "zero_division": 0}
        else:
            kw = {"average": "macro", "zero_division": 0, "labels": labels}
        out["precision"] = float(skm.precision_score(y, pred, **kw))
        out["recall"] = float(skm.recall_score(y, pred, **kw))
        out["f1"] = float(skm.f1_score(y, pred, **kw))
    cm = skm.confusion_matrix(y, pred, labels=labels)
    out["confusion_matrix"] = cm.tolist()
    out["labels"] = [_plain(v) for v in labels]
    if proba is not None and proba.ndim == 2:
        pclasses = (
            list(classes) if classes is not None and len(classes) == proba.shape[1] else labels
        )
        present = set(_plain(v) for v in np.unique(y))
        try:
            if proba.shape[1] == 2:
                pos = target_class if target_class is not None else pclasses[-1]
                idx = [_plain(c) for c in pclasses].index(_plain(pos))
                p = proba[:, idx]
                yb = np.array([_plain(v) == _plain(pos) for v in y], dtype=int)
                out["auc"] = float(skm.roc_auc_score(yb, p)) if len(present) == 2 else None
                out["log_loss"] = float(
                    skm.log_loss(yb, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])
                )
                out["ece"] = expected_calibration_error(yb, p)
            else:
                if len(present) == proba.shape[1]:
                    out["auc"] = float(
                        skm.roc_auc_score(y, proba, multi_class="ovr", labels=pclasses)
                    )
                else:
                    out["auc"] = None
                out["log_loss"] = float(skm.log_loss(y, np.clip(proba, 1e-15, 1), labels=pclasses))
                conf = proba.max(axis=1)
                correct = np.asarray(pclasses, dtype=object)[proba.argmax(axis=1)] == np.asarray(
                    y, dtype=object
                )
                out["ece"] = expected_calibration_error(correct.astype(int), conf)
        except (ValueError, IndexError):
            out.setdefault("auc", None)
    return out


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics as skm

    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float).reshape(len(y), -1)[:, 0]
    out = {
        "rmse": float(math.sqrt(skm.mean_squared_error(y, pred))),
        "mae": float(skm.mean_absolute_error(y, pred)),
    }
    out["r2"] = float(skm.r2_score(y, pred)) if len(y) > 1 else None  # type: ignore[assignment]
    return out


def expected_calibration_error(y_binary: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by size."""
    y_binary = np.asarray(y_binary, float)
    p = np.asarray(p, float)
    if not len(p):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() * abs(y_binary[mask].mean() - p[mask].mean())
    return float(total / len(p))


def compute_metrics(
    task: str, y: Any, pred: Any, proba: Any, classes: Any, target_class: Any = None
) -> dict[str, Any]:
    if task == REGRESSION:
        return regression_metrics(np.asarray(y), np.asarray(pred))
    return classification_metrics(np.asarray(y), np.asarray(pred), proba, classes, target_class)


def default_slice_metric(task: str, n_labels: int) -> str:
    if task == REGRESSION:
        return "mae"
    return "f1" if n_labels <= 2 else "accuracy"


def is_worse(metric: str, score: float, reference: float, tolerance: float) -> bool:
    """Direction-aware: absolute tolerance for bounded metrics, relative for errors."""
    if metric in LOWER_IS_BETTER:
        allowed = tolerance if metric in _BOUNDED else tolerance * max(abs(reference), 1e-12)
        return score > reference + allowed
    return score < reference - tolerance


def slice_groups(frame: Any, column: str, bins: int) -> list[tuple[str, np.ndarray]]:
    """(label, row mask) per slice: categories, or quantile bins for numeric columns."""
    import pandas as pd

    s = frame[column]
    if s.dtype.kind in "iuf" and s.nunique(dropna=True) > 10:
        cut = pd.qcut(s, q=bins, duplicates="drop")
        groups = [(str(iv), (cut == iv).to_numpy()) for iv in cut.cat.categories]
    else:
        values = s.astype("object").where(s.notna(), "∅")
        groups = [(str(v), (values == v).to_numpy()) for v in pd.unique(values)]
    return [(label, mask) for label, mask in groups if mask.any()]


def _labels(y: np.ndarray, pred: np.ndarray, classes: list[Any] | None) -> list[Any]:
    if classes:
        extra = [
            v
            for v in np.unique(
                np.concatenate(
                    [np.asarray(y, dtype=object), np.asarray(pred, dtype=object)]
                ).astype(str)
            )
            if v not in {str(c) for c in classes}
        ]
        if not extra:
            return list(classes)
    try:
        return sorted(set(np.asarray(y).tolist()) | set(np.asarray(pred).tolist()))
    except TypeError:
        return sorted(
            set(map(str, np.asarray(y).tolist())) | set(map(str, np.asarray(pred).tolist()))
        )


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
