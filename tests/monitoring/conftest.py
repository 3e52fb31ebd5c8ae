from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_tickets",
    "last_login_days",
    "contract",
    "payment_method",
    "region",
]


def _model(df: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = FEATURES[:4]
    cat = FEATURES[4:]
    pre = ColumnTransformer(
        [("num", StandardScaler(), num), ("cat", OneHotEncoder(handle_unknown="ignore"), cat)]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))]).fit(
        df[FEATURES], df["churned"]
    )


@pytest.fixture(scope="module")
def churn_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A workspace with churn@1 registered on churn-train@1 and evaluated on churn-test."""
    import shipyard as sy
    from shipyard.data.synthetic import make_churn

    home: Path = tmp_path_factory.mktemp("mon") / "ws"
    with sy.Workspace(home) as ws:
        df = make_churn(3000, period=1, seed=0)
        train, test = df.iloc[:2400], df.iloc[2400:]
        dv = ws.datasets.commit("churn-train", train[[*FEATURES, "churned"]])
        ws.models.register(
            "churn", _model(train), datasets=[dv.ref], input_example=train[FEATURES].head(5)
        )
        ws.models.evaluate("churn@1", test[[*FEATURES, "churned"]], target="churned")
        yield ws


def log_rows(
    ws: Any,
    df: Any,
    start: Any,
    *,
    model: str = "churn",
    version: int = 1,
    status: int = 200,
    latency_ms: float = 5.0,
    prefix: str = "r",
) -> list[str]:
    """Write *df* (period data) as prediction logs through the sink, one row per request."""
    from datetime import timedelta

    from shipyard.monitoring import open_prediction_log

    predictor = ws.models.load(f"{model}@{version}")
    preds = predictor.predict(df[FEATURES])
    records = df[FEATURES].to_dict("records")
    ids = [f"{prefix}{i}" for i in range(len(df))]
    with open_prediction_log(ws, background=False) as sink:
        sink.write(
            [
                {
                    "request_id": ids[i],
                    "row": 0,
                    "ts": start + timedelta(seconds=i * 0.01),
                    "model": model,
                    "version": version,
                    "deployment": "prod",
                    "protocol": "v2",
                    "status": status,
                    "latency_ms": latency_ms,
                    "inputs": records[i],
                    "outputs": {"predict": preds[i]},
                }
                for i in range(len(df))
            ]
        )
    return ids
