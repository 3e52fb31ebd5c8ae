"""Demo step: tune the gradient-boosting model with 20 TPE trials and ASHA, two at a time.

Each trial grows the ensemble in stages of 10 trees and reports the validation AUC
after each stage; ASHA stops unpromising trials early. Prints the best trial and the
parameter importance ranking (fANOVA).

Run standalone with ``python examples/steps/tuning.py`` (a temporary workspace).
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

_DATA: Any = None


def _data() -> Any:
    global _DATA
    if _DATA is None:
        from sklearn.datasets import make_classification
        from sklearn.model_selection import train_test_split

        X, y = make_classification(
            n_samples=2000, n_features=20, n_informative=8, flip_y=0.05, random_state=7
        )
        _DATA = train_test_split(X, y, test_size=0.25, random_state=7)
    return _DATA


def objective(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """Gradient boosting, grown 10 trees at a time; the resource is the number of trees."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    import shipyard as sy

    X_train, X_test, y_train, y_test = _data()
    model = GradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_depth=params["max_depth"],
        subsample=params["subsample"],
        min_samples_leaf=params["min_samples_leaf"],
        max_features=params["max_features"],
        warm_start=True,
        random_state=7,
    )
    auc = 0.0
    for stage, n in enumerate(range(10, params["n_estimators"] + 1, 10)):
        model.set_params(n_estimators=n)
        model.fit(X_train, y_train)
        auc = float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
        trial.report(auc, stage)
        if trial.should_prune():
            raise sy.TrialPruned()
    return {"val_auc": auc}


def run(ws: Any, console: Any) -> dict[str, Any]:
    import cloudpickle

    import shipyard as sy

    # worker processes receive the objective by value, however this file was loaded
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    space = {
        "learning_rate": sy.loguniform(0.01, 0.3),
        "max_depth": sy.integer(2, 6),
        "subsample": sy.uniform(0.5, 1.0),
        "min_samples_leaf": sy.integer(1, 50, log=True),
        "max_features": sy.choice(["sqrt", "log2", None]),
        "n_estimators": 100,
    }
    study = ws.studies.create(
        "quickstart-gbm",
        objective,
        space,
        metric="val_auc",
        direction="maximize",
        sampler="tpe",
        pruner="asha",
        n_trials=20,
        parallelism=2,
        executor="local",
        seed=7,
        experiment="quickstart-tuning",
    )
    # warm start from the hand-picked configuration of the tracking step
    study.enqueue(
        {
            "learning_rate": 0.1,
            "max_depth": 3,
            "subsample": 1.0,
            "min_samples_leaf": 1,
            "max_features": None,
        }
    )
    study.optimize()
    counts = study.counts()
    best = study.best_trial
    console.print(
        f"study {study.name}: {counts.get('complete', 0)} complete, "
        f"{counts.get('pruned', 0)} pruned, {counts.get('failed', 0)} failed"
    )
    shown = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()
    )
    console.print(f"best trial #{best.number}: val_auc={best.value:.4f}  {shown}")
    importances = study.importances()
    console.print("importance ranking (fANOVA):")
    for name, value in importances.items():
        console.print(f"  {name:18s} {value:.3f}")
    return {
        "study": study.name,
        "trials": sum(counts.values()),
        "pruned": counts.get("pruned", 0),
        "best_trial": best.number,
        "best_val_auc": round(best.value, 4),
        "best_params": best.params,
        "importances": {k: round(v, 3) for k, v in importances.items()},
    }


if __name__ == "__main__":
    from rich.console import Console

    import shipyard as sy

    with tempfile.TemporaryDirectory() as home, sy.Workspace(home) as ws:
        print(run(ws, Console()))
