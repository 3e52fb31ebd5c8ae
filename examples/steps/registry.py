"""Demo step: register the churn model, test it with a suite, promote it through a gate.

Trains a gradient-boosting pipeline on synthetic churn data, registers it with its
training data and signature, evaluates it with a suite (an AUC threshold, a worst-slice
check by region and contract, an invariance test and a directional test), promotes it to
``champion``, shows the gate refusing a deliberately weaker model, and writes the
model card.

Run standalone with ``python examples/steps/registry.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
from typing import Any

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "support_tickets",
    "last_login_days",
    "contract",
    "payment_method",
    "internet_service",
    "region",
]


def _pipeline(n_estimators: int, max_depth: int) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = ["contract", "payment_method", "internet_service", "region"]
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical), remainder="passthrough"
    )
    return make_pipeline(
        encode,
        GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=7),
    )


def run(ws: Any, console: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    import shipyard as sy
    from shipyard.data.synthetic import make_churn

    data = make_churn(4000, seed=11)[[*FEATURES, "churned"]]
    train, test = data.iloc[:3000].reset_index(drop=True), data.iloc[3000:].reset_index(drop=True)
    p = {"n_estimators": 150, "max_depth": 3, **(params or {})}
    model = _pipeline(p["n_estimators"], p["max_depth"]).fit(train[FEATURES], train["churned"])
    v = ws.models.register(
        "churn",
        model,
        datasets=[train],
        input_example=train[FEATURES].head(5),
        description="Scores how likely a subscriber is to cancel in the next quarter; "
        "used to target retention offers. Not for pricing or credit decisions.",
        tags={"algorithm": "gradient-boosting"},
    )
    console.print(f"registered {v.ref} ({v.flavor}, {v.size_mb:.2f} MB)")

    suite = sy.Suite(
        [
            "auc >= 0.75",
            "min slice auc >= 0.70",
            "p95_latency_ms <= 100",
            "not worse than @champion by more than 0.01 auc",
        ],
        slices=["region", "contract"],
        behavioral=[
            sy.Invariance(
                "a day's difference in last login is noise",
                perturb={"add": {"last_login_days": 1}},
                tolerance=0.05,
                max_failure_rate=0.05,
            ),
            sy.Directional(
                "more support tickets never lower the churn score much",
                perturb={"add": {"support_tickets": 3}},
                direction="up",
                tolerance=0.02,
                max_failure_rate=0.05,
            ),
        ],
    )
    report = sy.evaluate(v.ref, test, target="churned", suite=suite, ws=ws)
    console.print(report.summary(), markup=False, highlight=False)
    promotion = ws.models.promote(v.ref, alias="champion", suite=suite)
    console.print(f"promoted {promotion.version} to champion")

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    weak_model = make_pipeline(LogisticRegression(max_iter=200)).fit(
        train[["last_login_days"]].to_numpy(dtype=float), train["churned"]
    )
    weak = ws.models.register(
        "churn",
        _OneFeature(weak_model),
        input_example=train[FEATURES].head(5),
        description="Deliberately weak: only the days since the last login.",
    )
    ws.evaluations.evaluate(weak.ref, test, target="churned", suite=sy.Suite(latency_samples=20))
    refused: list[str] = []
    try:
        ws.models.promote(weak.ref, alias="champion", suite=suite)
    except sy.GateFailed as exc:
        refused = [c["name"] for c in exc.details["checks"] if not c["passed"]]
        console.print(f"[yellow]gate refused {weak.ref}[/]: {', '.join(refused)}")

    card_path = ws.home / "model_card_churn.md"
    card_path.write_text(ws.models.card("churn@champion"))
    console.print(f"model card written to {card_path}")
    return {
        "model": v.ref,
        "auc": round(report.metrics["auc"], 4),
        "f1": round(report.metrics["f1"], 4),
        "worst_slice": min(
            (s for s in report.slices if not s["small"]),
            key=lambda s: s["metrics"].get("auc") or 1.0,
        )["value"],
        "p95_latency_ms": round(report.operational["p95_latency_ms"], 2),
        "suite_passed": report.passed,
        "champion": ws.models.get("churn@champion").version,
        "weak_model": weak.ref,
        "gate_refused": bool(refused),
        "refused_checks": refused,
        "card": str(card_path),
    }


class _OneFeature:
    """A weak model that looks at a single column (a generic Python model)."""

    classes_ = [0, 1]

    def __init__(self, model: Any) -> None:
        self.model = model

    def _x(self, x: Any) -> Any:
        import numpy as np

        return np.asarray(x["last_login_days"], dtype=float).reshape(-1, 1)

    def predict(self, x: Any) -> Any:
        return self.model.predict(self._x(x))

    def predict_proba(self, x: Any) -> Any:
        return self.model.predict_proba(self._x(x))


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        print(run(ws, Console()))
