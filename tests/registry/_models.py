"""Models and data shared by the registry and evaluation tests (importable by class path)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch


class TinyNet(torch.nn.Module):
    """A two-layer classifier rebuilt from its class path and init kwargs."""

    def __init__(self, n_in: int = 4, hidden: int = 8, n_out: int = 2) -> None:
        super().__init__()
        self.init_kwargs = {"n_in": n_in, "hidden": hidden, "n_out": n_out}
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ThresholdModel:
    """A generic Python model: predicts 1 when x > threshold."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def predict(self, x: Any) -> np.ndarray:
        return (np.asarray(x["x"], dtype=float) > self.threshold).astype(int)


def churn_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Synthetic churn data: continuous features, a category, a binary label."""
    rng = np.random.default_rng(seed)
    calls = rng.gamma(2.0, 1.0, n)
    tenure = rng.uniform(1, 72, n)
    plan = rng.choice(["basic", "pro"], n)
    logit = (
        0.9 * calls - 0.06 * tenure + np.where(plan == "basic", 0.4, -0.4) + rng.normal(0, 0.8, n)
    )
    return pd.DataFrame(
        {"tenure": tenure, "calls": calls, "plan": plan, "churned": (logit > 0).astype(int)}
    )


def fit_pipeline(frame: pd.DataFrame, c: float = 1.0) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pipe = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["plan"]), (StandardScaler(), ["tenure", "calls"])
        ),
        LogisticRegression(C=c),
    )
    return pipe.fit(frame.drop(columns="churned"), frame["churned"])
