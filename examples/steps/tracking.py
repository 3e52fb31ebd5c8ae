"""Demo step: train three scikit-learn models in tracked runs, then find the best by search.

Run standalone with ``python examples/steps/tracking.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
import time
from typing import Any


def run(ws: Any, console: Any) -> dict[str, Any]:
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=2000, n_features=20, n_informative=8, flip_y=0.05, random_state=7
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=7)
    candidates = {
        "logreg": LogisticRegression(C=1.0, max_iter=500),
        "rf": RandomForestClassifier(n_estimators=100, max_depth=8, random_state=7),
        "gbm": GradientBoostingClassifier(n_estimators=100, learning_rate=0.1, random_state=7),
    }
    run_ids = []
    for name, model in candidates.items():
        params = {
            "model": name,
            **{
                k: v
                for k, v in model.get_params().items()
                if isinstance(v, int | float | str) and v is not None
            },
        }
        with ws.start_run(experiment="quickstart", name=name, params=params) as r:
            t0 = time.perf_counter()
            if hasattr(model, "n_estimators"):
                # staged training curve: one point per 10 trees
                for n in range(10, model.n_estimators + 1, 10):
                    model.set_params(n_estimators=n)
                    model.set_params(warm_start=True)
                    model.fit(X_train, y_train)
                    proba = model.predict_proba(X_test)[:, 1]
                    r.log_metric("val/auc", roc_auc_score(y_test, proba), step=n)
            else:
                model.fit(X_train, y_train)
            proba = model.predict_proba(X_test)[:, 1]
            r.log_metrics(
                {
                    "auc": roc_auc_score(y_test, proba),
                    "accuracy": accuracy_score(y_test, proba > 0.5),
                    "fit_time_s": time.perf_counter() - t0,
                }
            )
            with tempfile.TemporaryDirectory() as tmp:
                joblib.dump(model, f"{tmp}/model.pkl")
                r.log_artifact(f"{tmp}/model.pkl", name="model/model.pkl")
        run_ids.append(r.id)
        console.print(f"  run {r.name:7s} auc={r.metrics['auc']:.4f}  ({r.id})")

    best = ws.runs.search(
        experiments=["quickstart"],
        filter="attributes.status = 'finished' and metrics.auc > 0.5",
        order_by=["metrics.auc desc"],
        max_results=1,
    )[0]
    console.print(
        f"best run by auc: [bold]{best.name}[/] auc={best.metrics['auc']:.4f} "
        f"params model={best.params['model']} ({best.id})"
    )
    return {
        "runs": run_ids,
        "best_run": best.id,
        "best_model": best.params["model"],
        "best_auc": round(best.metrics["auc"], 4),
    }


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as workspace:
        print(run(workspace, Console()))
