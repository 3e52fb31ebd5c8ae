"""sy.evaluate: metrics by task, slices, behavioral tests, data and operational checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import shipyard as sy
from shipyard.core import InvalidInput
from shipyard.evaluation import (
    Directional,
    Invariance,
    MinimumFunctionality,
    Suite,
    evaluate,
    expected_calibration_error,
)
from tests.registry._models import churn_frame, fit_pipeline


class SliceBlind:
    """Right on 'basic' customers, always 0 on 'pro' ones (a slice failure)."""

    classes_ = [0, 1]

    def predict(self, x: Any) -> np.ndarray:
        y = np.asarray(x["calls"]) > 2.0
        return np.where(np.asarray(x["plan"]) == "pro", 0, y).astype(int)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    df = churn_frame(900, seed=3)
    train, test = df.iloc[:600].reset_index(drop=True), df.iloc[600:].reset_index(drop=True)
    return {"train": train, "test": test, "pipe": fit_pipeline(train)}


def _register(ws: Any, data: dict[str, Any], name: str = "churn") -> Any:
    X = data["train"].drop(columns="churned")
    return ws.models.register(name, data["pipe"], datasets=[data["train"]], input_example=X.head(5))


def test_classification_metrics_match_sklearn(ws: Any, data: dict[str, Any]) -> None:
    _register(ws, data)
    test, pipe = data["test"], data["pipe"]
    report = evaluate("churn@1", test, target="churned", suite=Suite(), ws=ws)
    X, y = test.drop(columns="churned"), test["churned"]
    p = pipe.predict_proba(X)[:, 1]
    m = report.metrics
    assert report.task == "classification"
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pipe.predict(X)))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pipe.predict(X)))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-6)
    assert m["confusion_matrix"] == skm.confusion_matrix(y, pipe.predict(X)).tolist()
    assert 0 <= m["ece"] <= 1
    assert report.operational["p95_latency_ms"] > 0
    assert report.operational["size_mb"] == pytest.approx(ws.models.get("churn@1").size_bytes / 1e6)
    # stored with the version
    assert ws.evaluations.reports("churn@1")[0].id == report.id
    assert ws.models.latest_report("churn@1")["metrics"]["auc"] == pytest.approx(m["auc"])


def test_regression_metrics(sqlite_ws: Any) -> None:
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    df["y"] = 3 * df.a - df.b + rng.normal(0, 0.3, 300)
    model = Ridge().fit(df[["a", "b"]], df.y)
    sqlite_ws.models.register("reg", model, input_example=df[["a", "b"]].head(2))
    r = sqlite_ws.evaluations.evaluate("reg", df, target="y", suite=["r2 >= 0.9", "rmse <= 0.5"])
    pred = model.predict(df[["a", "b"]])
    assert r.task == "regression"
    assert r.metrics["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(df.y, pred)))
    assert r.metrics["mae"] == pytest.approx(skm.mean_absolute_error(df.y, pred))
    assert r.passed, r.summary()


def test_slices_flag_the_underperforming_group(sqlite_ws: Any, data: dict[str, Any]) -> None:
    X = data["test"].drop(columns="churned")
    sqlite_ws.models.register("blind", SliceBlind(), input_example=X.head(3))
    suite = Suite(["min slice f1 >= 0.5"], slices=["plan", "tenure"], slice_tolerance=0.1)
    r = sqlite_ws.evaluations.evaluate("blind", data["test"], target="churned", suite=suite)
    plan = {s["value"]: s for s in r.slices if s["column"] == "plan"}
    assert plan["pro"]["flagged"] and not plan["basic"]["flagged"]
    assert plan["pro"]["score"] == 0.0
    assert len([s for s in r.slices if s["column"] == "tenure"]) == 4  # quantile bins
    check = r.checks[0]
    assert not check["passed"] and "plan=pro" in check["message"]
    assert not r.passed


def test_behavioral_tests(sqlite_ws: Any, data: dict[str, Any]) -> None:
    _register(sqlite_ws, data)
    suite = Suite(
        behavioral=[
            Invariance("tiny tenure noise", perturb={"noise": {"tenure": 0.01}}, tolerance=0.01),
            Invariance(
                "plan flip changes score",
                perturb={"replace": {"plan": {"basic": "pro"}}},
                tolerance=0.001,
            ),
            Directional("more calls, more churn", perturb={"add": {"calls": 2.0}}, direction="up"),
            Directional("wrong direction", perturb={"add": {"calls": 2.0}}, direction="down"),
            Directional(
                "callable perturbation",
                perturb=lambda f: f.assign(tenure=f.tenure + 24),
                direction="down",
            ),
            MinimumFunctionality(
                "obvious cases",
                cases=[
                    {"input": {"tenure": 2.0, "calls": 9.0, "plan": "basic"}, "expected": 1},
                    {"input": {"tenure": 70.0, "calls": 0.1, "plan": "pro"}, "expected": 0},
                ],
            ),
        ]
    )
    r = sqlite_ws.evaluations.evaluate("churn", data["test"], target="churned", suite=suite)
    res = {b["name"]: b for b in r.behavioral}
    assert res["tiny tenure noise"]["passed"]
    assert (
        not res["plan flip changes score"]["passed"]
        and res["plan flip changes score"]["failures"] > 0
    )
    assert (
        res["more calls, more churn"]["passed"] and res["more calls, more churn"]["mean_delta"] > 0
    )
    assert not res["wrong direction"]["passed"] and res["wrong direction"]["failure_rate"] == 1.0
    assert res["callable perturbation"]["passed"]
    assert res["obvious cases"]["passed"] and res["obvious cases"]["n"] == 2
    assert {c["name"] for c in r.failed} == {
        "invariance: plan flip changes score",
        "directional: wrong direction",
    }


def test_data_checks_signature_and_leakage(sqlite_ws: Any, data: dict[str, Any]) -> None:
    _register(sqlite_ws, data)
    leaky = pd.concat([data["test"], data["train"].head(30)], ignore_index=True)
    r = sqlite_ws.evaluations.evaluate("churn", leaky, target="churned", suite=Suite())
    leak = next(d for d in r.data_checks if d["name"].startswith("leakage"))
    assert not leak["passed"] and leak["message"].startswith("30 of 330 evaluation rows")
    assert leak["value"] == pytest.approx(30 / 330)
    ok = sqlite_ws.evaluations.evaluate(
        "churn", leaky, target="churned", suite=Suite(max_leakage=0.1)
    )
    assert ok.passed
    broken = data["test"].assign(tenure="n/a")
    r2 = sqlite_ws.evaluations.evaluate("churn", broken, target="churned", suite=["auc >= 0.5"])
    sig = next(d for d in r2.data_checks if d["name"] == "signature")
    assert not sig["passed"] and "column 'tenure'" in sig["message"]
    assert r2.checks[0]["message"].startswith("not evaluated") and not r2.passed


def test_bad_evaluation_input(sqlite_ws: Any, data: dict[str, Any]) -> None:
    _register(sqlite_ws, data)
    test = data["test"]
    with pytest.raises(InvalidInput, match="needs target= naming the label column"):
        sqlite_ws.evaluations.evaluate("churn", test)
    with pytest.raises(
        InvalidInput, match="no target column 'label'; columns: tenure, calls, plan, churned"
    ):
        sqlite_ws.evaluations.evaluate("churn", test, target="label")
    with pytest.raises(InvalidInput, match="task must be one of"):
        sqlite_ws.evaluations.evaluate("churn", test, target="churned", task="ranking")
    with pytest.raises(InvalidInput, match="slice column 'region' is not in the evaluation data"):
        sqlite_ws.evaluations.evaluate(
            "churn", test, target="churned", suite=Suite(slices=["region"])
        )
    with pytest.raises(InvalidInput, match="has no rows"):
        sqlite_ws.evaluations.evaluate("churn", test.head(0), target="churned")
    with pytest.raises(InvalidInput, match="cannot parse the check 'auc is great'"):
        Suite(["auc is great"])
    with pytest.raises(InvalidInput, match="test 'x': unknown perturbation 'shuffle'"):
        Invariance("x", perturb={"shuffle": {"plan": 1}})
    with pytest.raises(InvalidInput, match="names column 'region', which the data does not have"):
        sqlite_ws.evaluations.evaluate(
            "churn",
            test,
            target="churned",
            suite=Suite(behavioral=[Invariance("x", perturb={"set": {"region": "eu"}})]),
        )
    assert sqlite_ws.evaluations.reports("churn") == []  # nothing half-written


def test_metric_not_available_for_task_fails_the_check(
    sqlite_ws: Any, data: dict[str, Any]
) -> None:
    _register(sqlite_ws, data)
    r = sqlite_ws.evaluations.evaluate("churn", data["test"], target="churned", suite=["rmse <= 1"])
    assert (
        not r.passed
        and "not available for this classification evaluation" in r.checks[0]["message"]
    )


def test_evaluate_a_dataset_version(sqlite_ws: Any, data: dict[str, Any]) -> None:
    _register(sqlite_ws, data)
    dv = sqlite_ws.datasets.commit("churn-test", data["test"])
    r = sy.evaluate("churn@1", "churn-test@1", target="churned", suite=["auc >= 0.6"], ws=sqlite_ws)
    assert r.dataset["dataset_version_id"] == dv.id and r.dataset["rows"] == len(data["test"])
    assert r.passed


def test_expected_calibration_error() -> None:
    y = np.array([1, 1, 0, 0])
    assert expected_calibration_error(y, np.array([1.0, 1.0, 0.0, 0.0])) == 0.0
    assert expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 1.0


def test_suite_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(
        """
checks = ["auc >= 0.85", "not worse than @champion by more than 0.01 auc"]
slices = ["plan"]
slice_tolerance = 0.1
p95_latency_ms = "<= 20"
min_slice_f1 = ">= 0.7"
size_mb = 50

[[invariance]]
name = "casing"
perturb = { replace = { plan = { basic = "BASIC" } } }
tolerance = 0.05

[[directional]]
name = "calls"
perturb = { add = { calls = 3 } }
direction = "up"
"""
    )
    s = Suite.from_toml(path)
    assert [c.name for c in s.checks] == [
        "auc >= 0.85",
        "not worse than @champion by more than 0.01 auc",
        "p95_latency_ms <= 20",
        "min slice f1 >= 0.7",
        "size_mb <= 50",
    ]
    assert s.slices == ["plan"] and s.slice_tolerance == 0.1
    assert [b.kind for b in s.behavioral] == ["invariance", "directional"]
    with pytest.raises(InvalidInput, match="not valid TOML"):
        Suite.from_toml("checks = [\n")
    with pytest.raises(InvalidInput, match="direction must be 'up' or 'down'"):
        Suite.from_toml(
            '[[directional]]\nname = "x"\nperturb = { add = { a = 1 } }\ndirection = "sideways"\n'
        )
