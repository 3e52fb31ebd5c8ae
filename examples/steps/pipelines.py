"""Demo step: the churn training as a pipeline, run twice; the second run comes from cache.

training set from the feature service (point-in-time join of the labels, committed as a
dataset version) → split → featurize → train two models in parallel → evaluate.
The first run executes every step on the ``local`` executor (a warm pool of worker
processes); the second finds each step's cache key (code, parameters, input digests)
and reuses the stored outputs without running anything.

Run standalone with ``python examples/steps/pipelines.py`` (a temporary workspace; the
features step runs first to define the feature service).
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import shipyard as sy
from shipyard.pipelines import current_workspace

KEYS = ["customer_id", "event_timestamp", "churned"]


@sy.step
def training_set(labels: str, service: str) -> Any:
    """Each label joined with the feature values as of its timestamp, committed."""
    ws = current_workspace()
    entity = ws.datasets.get(labels).to_pandas()
    training = ws.features.get_historical_features(entity, service)
    return training.commit("churn-training", message=f"{labels} joined via {service}")


@sy.step(outputs=("train", "test"))
def split(version: Any, test_fraction: float = 0.25, seed: int = 0) -> Any:
    df = version.to_pandas().sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = int(len(df) * (1 - test_fraction))
    return df.iloc[:cut], df.iloc[cut:]


@sy.step
def featurize(df: Any) -> Any:
    import pandas as pd

    known = df.drop(columns=KEYS)  # the service's features and the label's context
    text = [c for c in known.columns if not pd.api.types.is_numeric_dtype(known[c])]
    out = known.drop(columns=text).astype("float64")
    out["tickets_per_year"] = 12 * df["support_tickets"] / df["tenure_months"].clip(lower=1)
    out = pd.concat([out, pd.get_dummies(known[text], dtype=float)], axis=1)
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
def churn_training(
    labels: str = "churn-labels@latest", service: str = "churn_model", n_estimators: int = 100
):
    version = training_set(labels, service)
    train, test = split(version)
    f_train, f_test = featurize(train), featurize(test)
    logreg = train_logreg(f_train)
    forest = train_forest(f_train, n_estimators=n_estimators)
    return evaluate(logreg, forest, f_test)


def run(ws: Any, console: Any) -> dict[str, Any]:
    try:
        service = ws.features.get_service("churn_model")
        labels = ws.datasets.get("churn-labels")
    except sy.NotFound:  # run on its own: the features step defines both
        _features_step().run(ws, console)
        service = ws.features.get_service("churn_model")
        labels = ws.datasets.get("churn-labels")
    # exact versions: a cached step must not stand for a newer labels or service version
    params = {"labels": labels.ref, "service": service.ref}
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
    training = ws.datasets.get("churn-training")
    console.print(
        f"pipeline [bold]churn_training[/]: first run {t_first:.2f}s "
        f"({len(first.steps)} steps executed), second run {t_second:.2f}s "
        f"({cached} of {len(second.steps)} steps from cache); training set "
        f"{training.ref} ({training.row_count} rows, point-in-time via {service.ref}); "
        f"best model {scores['best']} "
        f"AUC {scores[scores['best']]['auc']}",
        highlight=False,
    )
    return {
        "pipeline_run": first.id,
        "training_set": training.ref,
        "cached_run": second.id,
        "first_run_s": round(t_first, 3),
        "cached_run_s": round(t_second, 3),
        "steps": len(second.steps),
        "cached_steps": cached,
        "scores": scores,
    }


def _features_step() -> Any:
    path = Path(__file__).with_name("features.py")
    spec = importlib.util.spec_from_file_location("shipyard_demo_features_step", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    from rich.console import Console

    with tempfile.TemporaryDirectory() as d, sy.Workspace(d) as w:
        print(run(w, Console()))
