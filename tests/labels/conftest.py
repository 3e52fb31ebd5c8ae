from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def reviews() -> pd.DataFrame:
    """A small text set with a known truth column."""
    rng = np.random.default_rng(7)
    truth = rng.choice(["neg", "neu", "pos"], size=60)
    return pd.DataFrame(
        {"text": [f"review number {i}: it was {t}" for i, t in enumerate(truth)], "truth": truth}
    )


@pytest.fixture
def project(ws: Any, reviews: pd.DataFrame) -> Any:
    return ws.labels.create_project(
        "reviews",
        reviews,
        classes=["neg", "neu", "pos"],
        overlap=2,
        gold_fraction=0.1,
        gold_column="truth",
        instructions="Pick the sentiment.",
    )
