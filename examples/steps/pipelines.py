"""Demo step: the churn training as a pipeline, run twice; the second run comes from cache.

load dataset version → split → featurize → train two models in parallel → evaluate.
The first run executes every step on the ``local`` executor (a warm pool of worker
processes); the second finds each step's cache key (code, parameters, input digests)
and reuses the stored outputs without running anything.

Run standalone with ``python examples/steps/pipelines.py`` (a temporary workspace).
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import shipyard as sy
from shipyard.pipelines import current_workspace

FEATURES = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_tickets",
    "last_login_days",
    "is_senior",
]


@sy.step(cache=False)
def load(dataset: str) -> Any:
    """Resolve the reference (e.g. ``churn@latest``) to a dataset version: by reference."""
    return current_workspace().datasets.get(dataset)


@sy.step(outputs=("train", "test"))
def split(version: Any, test_fraction: float = 0.25, seed: int = 0) -> Any:
    df = version.to_pandas().sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = int(len(df) * (1 - test_fraction))
    return df.iloc[:cut], df.iloc[cut:]


@sy.step
def featurize(df: Any) -> Any:
    import pandas as pd

    out = df[FEATURES].astype("float64")
    out["charges_per_month"] = df["total_charges"] / df["tenure_months"].clip(lower=1)
    out = pd.concat([out, pd.get_dummies(df["contract"], prefix="contract", dtype=float)], axis=1)
    out = out.fillna(out.median(numeric_only=True)).fillna(0.0)
    out["churned"] = df["churned"].to_numpy()
    return out


@sy.step(resources=sy.Resources(cpus=1, memory="1GiB"))
def train_logreg(train: Any, c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = train.drop(columns="churned"), train["churned"]
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500)).fit(X, y)


@sy.step(resources=sy.Resources(cpus=1, memory="1GiB"))
def train_forest(train: Any, n_estimators: int = 100) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    X, y = train.drop(columns="churned"), train["churned"]
    return RandomForestClassifier(n_estimators=n_estimators, random_state=0, n_jobs=1).fit(X, y)


@sy.step
def evaluate(logreg: Any, forest: Any, test: Any) -> dict:
    from sklearn.metrics import accuracy_score, roc_auc_score

    X, y = test.drop(columns="churned"), test["churned"]
    scores = {}
    for name, model in (("logreg", logreg), ("forest", forest)):
        proba = model.predict_proba(X[model.feature_names_in_])[:, 1]
        scores[name] = {
            "auc": round(float(roc_auc_score(y, proba)), 4),
            "accuracy": round(float(accuracy_score(y, proba > 0.5)), 4),
        }
    scores["best"] = max(("logreg", "forest"), key=lambda k: scores[k]["auc"])
    return scores


@sy.pipeline
def churn_training(dataset: str = "churn@latest", n_estimators: int = 100):
    version = load(dataset)
    train, test = split(version)
    f_train, f_test = featurize(train), featurize(test)
    logreg = train_logreg(f_train)
    forest = train_forest(f_train, n_estimators=n_estimators)
    return evaluate(logreg, forest, f_test)


def run(ws: Any, console: Any) -> dict[str, Any]:
    from shipyard.data.synthetic import make_churn

    try:
        version = ws.datasets.get("churn")
    except sy.NotFound:
        version = ws.datasets.commit("churn", make_churn(3000, seed=3), message="churn table")
    params = {"dataset": version.ref}
    t = time.perf_counter()
    first = churn_training.run(params=params, executor="local", ws=ws)
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    second = churn_training.run(params=params, executor="local", ws=ws)
    t_second = time.perf_counter() - t
    if first.status != "succeeded" or second.status != "succeeded":
        raise RuntimeError(first.error or second.error)
    scores = second.result
    cached = second.cached_steps
    console.print(
        f"pipeline [bold]churn_training[/]: first run {t_first:.2f}s "
        f"({len(first.steps)} steps executed), second run {t_second:.2f}s "
        f"({cached} of {len(second.steps)} steps from cache; 'load' always re-resolves "
        f"the dataset reference); best model {scores['best']} "
        f"AUC {scores[scores['best']]['auc']}",
        highlight=False,
    )
    return {
        "pipeline_run": first.id,
        "cached_run": second.id,
        "first_run_s": round(t_first, 3),
        "cached_run_s": round(t_second, 3),
        "steps": len(second.steps),
        "cached_steps": cached,
        "scores": scores,
    }


if __name__ == "__main__":
    from rich.console import Console

    with tempfile.TemporaryDirectory() as d, sy.Workspace(d) as w:
        print(run(w, Console()))
