from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import shipyard as sy

    home = tmp_path_factory.mktemp("serving")
    with sy.Workspace(home / "ws", project_file=str(home / "shipyard.toml")) as ws:
        yield ws


@pytest.fixture(scope="module")
def tabular(workspace: Any) -> Any:
    """A logistic regression on columns a (float), b (float), n (int)."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=200), "b": rng.normal(size=200), "n": rng.integers(0, 5, 200)}
    )
    y = (X["a"] + X["b"] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    return workspace.models.register("churn", model, input_example=X.head(3))


@pytest.fixture(scope="module")
def tensor_model(workspace: Any) -> Any:
    """A regressor over a float32 array of 4 features (tensor signature)."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 4)).astype(np.float32)
    y = X.sum(axis=1)
    return workspace.models.register("digits", LinearRegression().fit(X, y), input_example=X[:2])
