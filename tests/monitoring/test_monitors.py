from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shipyard.core import AlreadyExists, InvalidInput, NotFound

from .conftest import FEATURES, log_rows

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_monitor_detects_drift_in_the_second_period(churn_ws: Any) -> None:
    from shipyard.data.synthetic import CHURN_DRIFTED_COLUMNS, make_churn

    ws = churn_ws
    m = ws.monitors.create("drift", model="churn", window="1h", rules=["drift_share > 0.3"])
    assert m.reference["ref"] == "churn-train@1"  # found through lineage
    assert m.columns == FEATURES
    up = ws.lineage.upstream(m, depth=1).keys()
    assert any(k.startswith("model_version:") for k in up)
    assert any(k.startswith("dataset_version:") for k in up)

    log_rows(ws, make_churn(1500, period=1, seed=3), T0, prefix="a")
    ok = ws.monitors.run("drift", end=T0 + timedelta(minutes=30))
    assert ok["status"] == "ok" and ok["rows"] == 1500
    assert ok["drifted_columns"] == []
    assert ok["alerts"] == []

    later = T0 + timedelta(hours=2)
    log_rows(ws, make_churn(1500, period=2, seed=4), later, prefix="b")
    bad = ws.monitors.run("drift", end=later + timedelta(minutes=30))
    assert bad["status"] == "drift"
    drifted = set(bad["drifted_columns"])
    assert set(CHURN_DRIFTED_COLUMNS) & set(FEATURES) <= drifted
    assert "predict" in bad["prediction"]
    assert [a["state"] for a in bad["alerts"]] == ["firing"]
    assert ws.monitors.alerts("drift", state="firing")[0]["rule"] == "drift_share > 0.3"
    assert len(ws.monitors.checks("drift")) == 2


def test_empty_window_is_reported_as_no_data(churn_ws: Any) -> None:
    ws = churn_ws
    ws.monitors.create("quiet", model="churn", rules=["drift_share > 0.3"])
    check = ws.monitors.run("quiet", end=datetime(2020, 1, 1, tzinfo=UTC))
    assert check["status"] == "no_data"
    assert check["rows"] == 0 and check["drift_share"] is None
    assert check["message"].startswith("no data: no prediction logs of churn")
    assert check["alerts"] == []


def test_bad_input_is_refused_clearly(churn_ws: Any) -> None:
    ws = churn_ws
    with pytest.raises(NotFound, match=r"cannot monitor 'nope': no such model version"):
        ws.monitors.create("x1", model="nope")
    with pytest.raises(InvalidInput, match=r"names column 'income', which the monitor does not"):
        ws.monitors.create("x2", model="churn", rules=["column:income psi > 0.2"])
    with pytest.raises(InvalidInput, match=r"unknown metric 'nonsense'"):
        ws.monitors.create("x3", model="churn", rules=["nonsense > 1"])
    with pytest.raises(InvalidInput, match=r"cannot read window '1 fortnight'"):
        ws.monitors.create("x4", model="churn", window="1 fortnight")
    with pytest.raises(NotFound, match=r"no monitor 'missing'"):
        ws.monitors.run("missing")
    ws.monitors.create("x5", model="churn", schedule=None)
    with pytest.raises(AlreadyExists, match="monitor 'x5' already exists"):
        ws.monitors.create("x5", model="churn")


def test_reference_without_statistics_is_computed_on_demand(churn_ws: Any) -> None:
    from shipyard.data.synthetic import make_churn

    ws = churn_ws
    frame = make_churn(800, period=1, seed=9)[FEATURES]  # a bare table, no stored profile
    m = ws.monitors.create("adhoc", model="churn", reference=frame, columns=FEATURES[:3])
    ref = ws.monitors.reference("adhoc")
    assert m.reference == {"kind": "table", "rows": 800}
    assert set(FEATURES[:3]) <= set(ref.columns) and "values" in ref.columns["tenure_months"]
    # a small reference switches to the hypothesis tests
    log_rows(ws, make_churn(300, period=1, seed=10), T0 + timedelta(days=3), prefix="c")
    check = ws.monitors.run("adhoc", end=T0 + timedelta(days=3, minutes=10))
    assert check["columns"]["tenure_months"]["test"] == "ks"


def test_labels_give_live_performance_against_the_evaluation(churn_ws: Any) -> None:
    from shipyard.data.synthetic import make_churn

    ws = churn_ws
    ws.monitors.create("perf", model="churn", target="churned", rules=["accuracy < 0.99"])
    start = T0 + timedelta(days=10)
    df = make_churn(600, period=1, seed=11)
    ids = log_rows(ws, df, start, prefix="p")
    before = ws.monitors.performance("perf", start, start + timedelta(hours=1))
    assert 0.5 < before["estimated_accuracy"] <= 1.0  # from confidences, before labels
    assert "accuracy" not in before
    assert ws.monitors.log_labels("perf", ids, df["churned"].tolist()) == 600
    perf = ws.monitors.performance("perf", start, start + timedelta(hours=1))
    preds = ws.models.load("churn@1").predict(df[FEATURES])
    assert perf["labelled"] == 600
    assert perf["accuracy"] == pytest.approx(float((preds == df["churned"].to_numpy()).mean()))
    assert "accuracy" in perf["evaluation"] and "accuracy_drop" in perf
    from sklearn.metrics import roc_auc_score

    proba = ws.models.load("churn@1").predict_proba(df[FEATURES])[:, 1]
    assert perf["roc_auc"] == pytest.approx(roc_auc_score(df["churned"], proba))
    check = ws.monitors.run("perf", end=start + timedelta(minutes=30))
    assert check["performance"]["accuracy"] == perf["accuracy"]
    assert [a["state"] for a in check["alerts"]] == ["firing"]


def test_health_summary_per_version(churn_ws: Any) -> None:
    from shipyard.data.synthetic import make_churn
    from shipyard.monitoring import health_summary

    ws = churn_ws
    start = T0 + timedelta(days=20)
    df = make_churn(200, period=1, seed=12)
    log_rows(ws, df.iloc[:100], start, latency_ms=4.0, prefix="h")
    log_rows(
        ws, df.iloc[100:], start + timedelta(seconds=1), status=500, latency_ms=40.0, prefix="e"
    )
    (h,) = health_summary(ws, "churn", 1, start, start + timedelta(minutes=5))
    assert h["requests"] == 200 and h["error_rate"] == pytest.approx(0.5)
    assert h["p50_latency_ms"] == pytest.approx(22.0)
    assert h["p99_latency_ms"] > 39
    assert h["request_rate"] > 0
