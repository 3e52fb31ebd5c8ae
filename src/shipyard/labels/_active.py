"""Active learning: order items by how uncertain a model is about them.

Scores are in [0, 1], higher means more informative:

* ``least_confidence``: ``1 - max p``
* ``margin``: ``1 - (p_top1 - p_top2)``
* ``entropy``: ``-Σ p log p / log K``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import InvalidInput


def _probs(p: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise InvalidInput(
            f"model predictions must be probabilities of shape (items, classes), got {arr.shape}"
        )
    return arr


def least_confidence(p: Any) -> np.ndarray[Any, Any]:
    arr = _probs(p)
    return 1.0 - arr.max(axis=1)


def margin(p: Any) -> np.ndarray[Any, Any]:
    arr = np.sort(_probs(p), axis=1)
    return 1.0 - (arr[:, -1] - arr[:, -2])


def entropy(p: Any) -> np.ndarray[Any, Any]:
    arr = np.clip(_probs(p), 1e-12, 1.0)
    return -(arr * np.log(arr)).sum(axis=1) / np.log(arr.shape[1])


STRATEGIES: dict[str, Callable[[Any], np.ndarray[Any, Any]]] = {
    "least_confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
}


def uncertainty(p: Any, strategy: str = "entropy") -> np.ndarray[Any, Any]:
    fn = STRATEGIES.get(strategy)
    if fn is None:
        raise InvalidInput(
            f"unknown uncertainty strategy {strategy!r}: use one of {', '.join(STRATEGIES)}"
        )
    return fn(p)
