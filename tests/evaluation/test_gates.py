"""Promotion gates and success criteria (shipyard.toml or the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import shipyard as sy
from shipyard.core import InvalidInput
from shipyard.evaluation import Suite
from tests.registry._models import churn_frame, fit_pipeline


class Coin:
    """A useless classifier: constant probability 0.5 (AUC 0.5)."""

    classes_ = [0, 1]

    def predict(self, x: Any) -> np.ndarray:
        return np.zeros(len(next(iter(x.values()))), dtype=int)

    def predict_proba(self, x: Any) -> np.ndarray:
        n = len(next(iter(x.values())))
        return np.full((n, 2), 0.5)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    df = churn_frame(800, seed=5)
    train, test = df.iloc[:500].reset_index(drop=True), df.iloc[500:].reset_index(drop=True)
    return {"train": train, "test": test, "pipe": fit_pipeline(train)}


def _setup(ws: Any, data: dict[str, Any]) -> None:
    X = data["train"].drop(columns="churned")
    ws.models.register("churn", data["pipe"], datasets=[data["train"]], input_example=X.head(3))
    ws.models.register("churn", Coin(), input_example=X.head(3))


SUITE = Suite(["auc >= 0.75", "not worse than @champion by more than 0.01 auc"])


def test_promote_passes_then_gate_refuses_a_weaker_model(ws: Any, data: dict[str, Any]) -> None:
    _setup(ws, data)
    ok = ws.models.promote(
        "churn@1", alias="champion", suite=SUITE, dataset=data["test"], target="churned"
    )
    assert ok.passed and ok.applied and not ok.forced
    assert ws.models.get("churn@champion").version == 1
    with pytest.raises(sy.GateFailed) as e:
        ws.models.promote(
            "churn@2", alias="champion", suite=SUITE, dataset=data["test"], target="churned"
        )
    err = e.value
    assert isinstance(err, sy.Conflict)
    assert "promotion of churn@2 to 'champion' refused: 2 of 3 checks failed" in err.message
    assert "auc >= 0.75: auc = 0.5" in err.message
    assert "not worse than @champion by more than 0.01 auc" in err.message
    failed = {c["name"] for c in err.details["checks"] if not c["passed"]}
    assert failed == {"auc >= 0.75", "not worse than @champion by more than 0.01 auc"}
    assert ws.models.get("churn@champion").version == 1  # alias unchanged
    history = ws.models.promotions("churn")
    assert [(p.version, p.applied) for p in history] == [("churn@1", True), ("churn@2", False)]
    assert ws.models.get_model("churn").aliases == {"champion": 1}


def test_force_needs_a_reason_and_is_recorded(sqlite_ws: Any, data: dict[str, Any]) -> None:
    _setup(sqlite_ws, data)
    kw = {"suite": SUITE, "dataset": data["test"], "target": "churned"}
    with pytest.raises(InvalidInput, match=r"force=True\) needs reason="):
        sqlite_ws.models.promote("churn@2", alias="shadow", force=True, **kw)
    p = sqlite_ws.models.promote(
        "churn@2", alias="shadow", force=True, reason="baseline for A/B", **kw
    )
    assert p.forced and p.applied and not p.passed and p.reason == "baseline for A/B"
    move = sqlite_ws.models.alias_history("churn", "shadow")[-1]
    assert move.to_version == 2 and move.reason == "forced past a failing gate: baseline for A/B"
    card = sqlite_ws.models.card("churn@2")
    assert "| shadow | forced | baseline for A/B |" in card


def test_promote_reuses_the_latest_evaluation_data(sqlite_ws: Any, data: dict[str, Any]) -> None:
    _setup(sqlite_ws, data)
    with pytest.raises(sy.GateFailed, match="churn@1 has never been evaluated"):
        sqlite_ws.models.promote("churn@1", suite=SUITE)
    sqlite_ws.evaluations.evaluate("churn@1", data["test"], target="churned", suite=Suite())
    p = sqlite_ws.models.promote("churn@1", suite=SUITE)
    assert p.passed and p.evaluation_id is not None
    report = sqlite_ws.evaluations.get(p.evaluation_id)
    assert report.dataset["rows"] == len(data["test"]) and report.target == "churned"


def test_success_criteria_from_project_file_and_api(tmp_path: Path, data: dict[str, Any]) -> None:
    project = tmp_path / "shipyard.toml"
    project.write_text('[success]\nauc = ">= 0.75"\np99_latency_ms = "<= 500"\nslices = ["plan"]\n')
    with sy.Workspace(tmp_path / "ws", project_file=str(project)) as ws:
        _setup(ws, data)
        assert ws.evaluations.success_criteria() == {"auc": ">= 0.75", "p99_latency_ms": "<= 500"}
        r = ws.evaluations.evaluate("churn@1", data["test"], target="churned")  # default suite
        assert [c["name"] for c in r.checks] == ["auc >= 0.75", "p99_latency_ms <= 500"]
        assert {s["column"] for s in r.slices} == {"plan"}
        assert r.passed
        ws.models.promote("churn@1")  # gate: the success criteria on the latest evaluation data
        ws.evaluations.evaluate("churn@2", data["test"], target="churned")
        with pytest.raises(sy.GateFailed, match=r"auc >= 0\.75"):
            ws.models.promote("churn@2")
        # the API overrides the file
        ws.evaluations.set_success_criteria({"auc": ">= 0.4"})
        assert ws.evaluations.success_criteria()["auc"] == ">= 0.4"
        assert ws.models.promote("churn@2", alias="challenger").passed
        matrix = ws.evaluations.criteria_matrix("churn")
        assert matrix["criteria"] == ["auc >= 0.4", "p99_latency_ms <= 500"]
        by_version = {row["version"]: row for row in matrix["versions"]}
        assert by_version[1]["cells"][0]["passed"] is True
        assert by_version[1]["cells"][0]["value"] > 0.75
        with pytest.raises(InvalidInput, match="cannot parse the check 'auc >= high'"):
            ws.evaluations.set_success_criteria({"auc": ">= high"})
        assert ws.evaluations.success_criteria()["auc"] == ">= 0.4"  # unchanged


def test_bad_project_file_is_reported(tmp_path: Path) -> None:
    project = tmp_path / "shipyard.toml"
    project.write_text("[success\nauc = 1")
    with (
        sy.Workspace(tmp_path / "ws", project_file=str(project)) as ws,
        pytest.raises(InvalidInput, match=r"shipyard.toml is not valid TOML"),
    ):
        ws.evaluations.success_criteria()


def test_settings_project_file_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHIPYARD_PROJECT_FILE", str(tmp_path / "p.toml"))
    assert sy.Settings.load().project_file == tmp_path / "p.toml"
    monkeypatch.delenv("SHIPYARD_PROJECT_FILE")
    monkeypatch.chdir(tmp_path)
    assert sy.Settings.load().project_file == tmp_path / "shipyard.toml"


def test_refused_delete_keeps_reports_and_delete_drops_them(
    sqlite_ws: Any, data: dict[str, Any]
) -> None:
    _setup(sqlite_ws, data)
    for ref in ("churn@1", "churn@2"):
        sqlite_ws.evaluations.evaluate(
            ref, data["test"], target="churned", suite=Suite(latency_samples=5)
        )
    sqlite_ws.models.set_alias("churn", "champion", version=1)
    with pytest.raises(sy.Conflict, match="alias champion points at it"):
        sqlite_ws.models.delete("churn@1")
    assert len(sqlite_ws.evaluations.reports("churn@1")) == 1  # nothing lost by the refusal
    v2 = sqlite_ws.models.get("churn@2")
    sqlite_ws.models.delete("churn@2")
    assert sqlite_ws.evaluations.latest_report(v2) is None
