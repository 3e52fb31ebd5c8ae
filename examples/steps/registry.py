"""Demo step: register the churn model, test it with a suite, promote it through a gate.

A small pipeline prepares the synthetic churn data as two dataset versions
(``churn-model-train``, ``churn-model-test``); a tracked run reads the training version,
trains a gradient-boosting pipeline and registers it with its run, training data and
signature, so the model's lineage reaches back to the pipeline run that made its data.
The model is evaluated with a suite (an AUC threshold, a worst-slice check by region and
contract, an invariance test and a directional test), promoted to ``champion``; the gate
refuses a deliberately weaker model, and the model card is written.

Run standalone with ``python examples/steps/registry.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
from typing import Any

import shipyard as sy
from shipyard.data.synthetic import CHURN_FEATURES
from shipyard.pipelines import current_workspace

FEATURES = list(CHURN_FEATURES)


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


@sy.step(outputs=("train", "test"))
def prepare(rows: int = 4000, train_rows: int = 3000, seed: int = 11) -> Any:
    """The churn table, committed as a training and a test dataset version."""
    from shipyard.data.synthetic import make_churn

    data = make_churn(rows, seed=seed)[[*FEATURES, "churned"]]
    datasets = current_workspace().datasets
    train = datasets.commit(
        "churn-model-train", data.iloc[:train_rows].reset_index(drop=True), message="training"
    )
    test = datasets.commit(
        "churn-model-test", data.iloc[train_rows:].reset_index(drop=True), message="test"
    )
    return train, test


@sy.pipeline
def churn_model_data(rows: int = 4000, seed: int = 11):
    return prepare(rows=rows, seed=seed)


def run(ws: Any, console: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    prepared = churn_model_data.run(executor="inline", ws=ws)
    if prepared.status != "succeeded":
        raise RuntimeError(prepared.error)
    train_version, test_version = prepared.result
    train, test = train_version.to_pandas(), test_version.to_pandas()
    console.print(
        f"pipeline churn_model_data made {train_version.ref} and {test_version.ref} "
        f"(run {prepared.id})"
    )
    p = {"n_estimators": 150, "max_depth": 3, **(params or {})}
    with ws.start_run(experiment="churn-champion", name="gbm", params=p) as training_run:
        training_run.log_input(train_version)
        model = _pipeline(p["n_estimators"], p["max_depth"]).fit(train[FEATURES], train["churned"])
        proba = model.predict_proba(train[FEATURES])[:, 1]
        training_run.log_metrics({"train_auc": roc_auc_score(train["churned"], proba)})
        v = ws.models.register(
            "churn",
            model,
            run=training_run,
            datasets=[train_version],
            input_example=train[FEATURES].head(5),
            description="Scores how likely a subscriber is to cancel in the next quarter; "
            "used to target retention offers. Not for pricing or credit decisions.",
            tags={"algorithm": "gradient-boosting"},
        )
    console.print(f"registered {v.ref} ({v.flavor}, {v.size_mb:.2f} MB) from run {training_run.id}")

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

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        print(run(ws, Console()))
