"""Models for the serving tests (importable by class path)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


class SlowSum:
    """Sums columns x and y; sleeps per call, so that requests pile up."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay

    def predict(self, data: Any) -> np.ndarray:
        time.sleep(self.delay)
        return np.asarray(data["x"], dtype=float) + np.asarray(data["y"], dtype=float)


class FailsOnNegative:
    """Sums x and y, but fails for any negative x: a model bug reached by some inputs."""

    def predict(self, data: Any) -> np.ndarray:
        x = np.asarray(data["x"], dtype=float)
        if (x < 0).any():
            raise ValueError("negative x breaks this model")
        return x + np.asarray(data["y"], dtype=float)


class DaysSince:
    """Days from 2024-01-01 to column ``when``, plus ``x``: a model with a datetime input."""

    def predict(self, data: Any) -> np.ndarray:
        days = (np.asarray(data["when"]) - np.datetime64("2024-01-01")) / np.timedelta64(1, "D")
        return days + np.asarray(data["x"], dtype=float)
