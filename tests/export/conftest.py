"""Data and trained models shared by the export tests (small, trained once per module)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)  # models built in a test start from the same weights in any order


@pytest.fixture(scope="session")
def digits() -> dict[str, Any]:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)[:, None]
    return {
        "train": (images[:1200], d.target[:1200]),
        "test": (images[1200:], d.target[1200:]),
        "flat_train": (images[:1200].reshape(1200, 64), d.target[:1200]),
        "flat_test": (images[1200:].reshape(-1, 64), d.target[1200:]),
    }


@pytest.fixture(scope="session")
def cnn(digits: dict[str, Any]) -> Any:
    import torch

    from tests.export._models import TinyCNN, train

    torch.set_num_threads(1)
    torch.manual_seed(0)  # the initial weights too, whatever ran before in the session
    X, y = digits["train"]
    # trained to a clear margin: an undertrained model (~77% accuracy) sits so close to its
    # decision boundaries that int8 rounding flips enough of them to fail the 1-point gate
    return train(TinyCNN(channels=4), torch.from_numpy(X), torch.from_numpy(y), epochs=8)


@pytest.fixture(scope="session")
def churn() -> pd.DataFrame:
    """Mixed tabular data: numbers with gaps, an integer count, a category, a label."""
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "monthly": rng.gamma(2.0, 30.0, n),
            "calls": rng.integers(0, 12, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )
    df.loc[::13, "age"] = np.nan
    logit = (
        0.08 * (df["age"].fillna(40) - 40) + 0.3 * (df["calls"] - 6) + (df["plan"] == "pro") * 1.5
    )
    df["churned"] = (logit + rng.normal(0, 0.5, n) > 0).astype(int)
    return df


@pytest.fixture(scope="session")
def churn_pipeline(churn: pd.DataFrame) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [
            (
                "num",
                Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
                ["age", "monthly", "calls"],
            ),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    X = churn.drop(columns=["churned"])
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X, churn["churned"])
