"""Label-error detection by confident learning (Northcutt, Jiang & Chuang 2021).

Given each item's label and out-of-sample predicted probabilities (from
cross-validation, so the model never saw the item it scores):

1. per-class thresholds ``t_k`` = the mean predicted probability of class *k* over
   the items labeled *k* (the model's self-confidence on that class);
2. the *confident joint* ``C[given, true]`` counts items whose probability for some
   class reaches that class's threshold (the most probable such class is "true");
3. ``prune_by_noise_rate``: for each off-diagonal cell ``C[i, j]``, the ``C[i, j]``
   items labeled *i* with the largest margin ``p_j - p_i`` are issues;
   ``confident_joint``: the items counted off-diagonal are issues; ``both`` (default)
   keeps items flagged by both rules.

Issues are ranked by label quality (self-confidence ``p[given]``), worst first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core import InvalidInput

FILTERS = ("both", "prune_by_noise_rate", "confident_joint")


def _validate(labels: Any, pred_probs: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    y = np.asarray(labels)
    p = np.asarray(pred_probs, dtype=float)
    if p.ndim != 2 or y.ndim != 1 or len(y) != len(p):
        raise InvalidInput(
            f"predicted probabilities must have shape (items, classes) = ({len(y)}, K); "
            f"got {p.shape}",
            details={"shape": list(p.shape)},
        )
    if len(y) and (y.min() < 0 or y.max() >= p.shape[1]):
        raise InvalidInput(
            f"labels must be class indices in [0, {p.shape[1]}) to match the probabilities"
        )
    if not np.all(np.isfinite(p)) or (p < 0).any() or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise InvalidInput(
            "predicted probabilities must be finite, non-negative and sum to 1 per item "
            "(use predict_proba outputs, e.g. from cross_val_predict(..., method='predict_proba'))"
        )
    return y.astype(np.int64), p


def confident_joint(
    labels: Any, pred_probs: Any
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The confident joint ``C[given, true]`` and each item's confident true class (-1: none)."""
    y, p = _validate(labels, pred_probs)
    k = p.shape[1]
    thresholds = np.array([p[y == c, c].mean() if (y == c).any() else np.inf for c in range(k)])
    above = p >= thresholds[None, :] - 1e-12
    masked = np.where(above, p, -1.0)
    true = np.argmax(masked, axis=1)
    true[~above.any(axis=1)] = -1
    has = true >= 0
    cj = np.bincount(y[has] * k + true[has], minlength=k * k).reshape(k, k)
    return cj, true


def find_label_issues(labels: Any, pred_probs: Any, *, filter_by: str = "both") -> pd.DataFrame:
    """Items whose label is likely wrong, worst first.

    Columns: ``index``, ``given``, ``suggested`` (most likely class), ``label_quality``
    (the model's probability of the given label), ``margin``.
    """
    if filter_by not in FILTERS:
        raise InvalidInput(f"unknown filter {filter_by!r}: use one of {', '.join(FILTERS)}")
    y, p = _validate(labels, pred_probs)
    n, k = p.shape
    cj, true = confident_joint(y, p)
    offdiag = (true >= 0) & (true != y)
    # calibrate the joint so each row sums to the number of items with that label
    counts = np.bincount(y, minlength=k).astype(float)
    row = cj.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cal = np.where(row[:, None] > 0, cj * (counts / row)[:, None], 0.0)
    pbnr = np.zeros(n, dtype=bool)
    for i in range(k):
        idx = np.flatnonzero(y == i)
        if len(idx) == 0:
            continue
        for j in range(k):
            m = round(cal[i, j]) if i != j else 0
            if m <= 0:
                continue
            margin = p[idx, j] - p[idx, i]
            top = idx[np.argsort(-margin, kind="stable")[:m]]
            pbnr[top] = True
    pbnr &= np.argmax(p, axis=1) != y  # never flag an item the model agrees with
    if filter_by == "both":
        flagged = pbnr & offdiag
    elif filter_by == "prune_by_noise_rate":
        flagged = pbnr
    else:
        flagged = offdiag
    idx = np.flatnonzero(flagged)
    quality = p[idx, y[idx]]
    suggested = np.argmax(p[idx], axis=1)
    order = np.argsort(quality, kind="stable")
    idx, quality, suggested = idx[order], quality[order], suggested[order]
    return pd.DataFrame(
        {
            "index": idx,
            "given": y[idx],
            "suggested": suggested,
            "label_quality": quality,
            "margin": p[idx, suggested] - quality,
        }
    )
