from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from shipyard.core import InvalidInput
from shipyard.monitoring._drift import (
    ReferenceStats,
    choose_test,
    column_drift,
    compute_drift,
    psi,
)


def _one(ref_values: np.ndarray | list, cur_values: np.ndarray | list, **kw: object) -> object:
    ref = ReferenceStats.from_table(pa.table({"x": ref_values}))
    return column_drift("x", ref.columns["x"], ref.row_count, pa.array(cur_values), **kw)  # type: ignore[arg-type]


def _false_positive_rate(make: object, seeds: int = 300) -> tuple[float, str]:
    hits = 0
    test = ""
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref, cur = make(rng), make(rng)  # type: ignore[operator]
        r = _one(ref, cur)
        hits += r.drifted  # type: ignore[attr-defined]
        test = r.test  # type: ignore[attr-defined]
    return hits / seeds, test


def test_ks_for_small_numeric_reference_is_nominal_and_detects_a_shift() -> None:
    fpr, test = _false_positive_rate(lambda rng: rng.normal(0, 1, 400))
    assert test == "ks"
    assert 0.02 <= fpr <= 0.09
    rng = np.random.default_rng(1)
    r = _one(rng.normal(0, 1, 400), rng.normal(0.4, 1, 400))
    assert r.drifted and r.statistic < 0.01  # type: ignore[attr-defined]


def test_chisquare_for_small_categorical_reference() -> None:
    levels = np.array(["a", "b", "c", "d"])
    p0 = [0.4, 0.3, 0.2, 0.1]
    fpr, test = _false_positive_rate(lambda rng: rng.choice(levels, 500, p=p0))
    assert test == "chisquare"
    assert 0.02 <= fpr <= 0.09
    rng = np.random.default_rng(2)
    r = _one(rng.choice(levels, 500, p=p0), rng.choice(levels, 500, p=[0.25, 0.25, 0.25, 0.25]))
    assert r.drifted  # type: ignore[attr-defined]


def test_z_test_for_binary_columns() -> None:
    fpr, test = _false_positive_rate(lambda rng: rng.random(600) < 0.3)
    assert test == "z"
    assert 0.02 <= fpr <= 0.09
    rng = np.random.default_rng(3)
    r = _one(rng.random(600) < 0.3, rng.random(600) < 0.45)
    assert r.drifted  # type: ignore[attr-defined]


def test_low_cardinality_numeric_uses_chisquare() -> None:
    rng = np.random.default_rng(4)
    ref = ReferenceStats.from_table(pa.table({"x": rng.integers(0, 4, 500)}))
    assert choose_test(ref.columns["x"], ref.row_count) == "chisquare"


def test_large_reference_uses_wasserstein_and_jensen_shannon() -> None:
    rng = np.random.default_rng(5)
    levels = np.array(["a", "b", "c"])
    ref = ReferenceStats.from_table(
        pa.table(
            {"x": rng.normal(10, 2, 20_000), "c": rng.choice(levels, 20_000, p=[0.6, 0.3, 0.1])}
        )
    )
    for seed in range(20):  # no false alarm at the default thresholds
        g = np.random.default_rng(100 + seed)
        cur = pa.table({"x": g.normal(10, 2, 5000), "c": g.choice(levels, 5000, p=[0.6, 0.3, 0.1])})
        res = compute_drift(ref, cur)
        assert res.columns["x"].test == "wasserstein"
        assert res.columns["c"].test == "jensenshannon"
        assert res.drifted_columns == []
    cur = pa.table(
        {"x": rng.normal(10.6, 2, 5000), "c": rng.choice(levels, 5000, p=[0.3, 0.3, 0.4])}
    )
    res = compute_drift(ref, cur)
    assert res.drifted_columns == ["x", "c"]
    assert res.columns["x"].statistic == pytest.approx(0.3, abs=0.05)
    assert res.drift_share == 1.0 and res.dataset_drift


def test_psi_matches_a_hand_computed_value() -> None:
    expected = 0.2 * math.log(0.5 / 0.3) + 0.2 * math.log(0.4 / 0.2)
    assert psi(np.array([50, 30, 20]), np.array([30, 30, 40])) == pytest.approx(expected)
    r = _one(["a"] * 50 + ["b"] * 30 + ["c"] * 20, ["a"] * 30 + ["b"] * 30 + ["c"] * 40)
    assert r.psi == pytest.approx(expected)  # type: ignore[attr-defined]


def test_churn_second_period_drifts_in_the_drifted_columns() -> None:
    from shipyard.data.synthetic import CHURN_DRIFTED_COLUMNS, CHURN_FEATURES, make_churn

    cols = list(CHURN_FEATURES)
    ref = ReferenceStats.from_table(make_churn(4000, period=1, seed=0)[cols])
    same = compute_drift(ref, make_churn(3000, period=1, seed=7)[cols])
    assert same.drifted_columns == []
    res = compute_drift(ref, make_churn(3000, period=2, seed=7)[cols])
    assert set(CHURN_DRIFTED_COLUMNS) <= set(res.drifted_columns)
    assert res.columns["monthly_charges"].psi > 0.1


def test_thresholds_and_tests_overridable_per_column() -> None:
    rng = np.random.default_rng(6)
    ref = ReferenceStats.from_table(pa.table({"x": rng.normal(0, 1, 5000)}))
    cur = pa.table({"x": rng.normal(0.15, 1, 5000)})
    assert compute_drift(ref, cur).drifted_columns == ["x"]
    assert compute_drift(ref, cur, thresholds={"x": 0.5}).drifted_columns == []
    res = compute_drift(ref, cur, tests={"x": "psi"})
    assert res.columns["x"].test == "psi" and res.columns["x"].threshold == 0.2
    with pytest.raises(InvalidInput, match="unknown drift test 'nope'"):
        compute_drift(ref, cur, tests={"x": "nope"})


def test_empty_window_is_no_data_not_drift() -> None:
    ref = ReferenceStats.from_table(pa.table({"x": np.arange(100.0)}))
    res = compute_drift(ref, pa.table({"x": pa.array([], pa.float64())}))
    assert res.rows == 0 and res.drift_share is None and res.dataset_drift is None


def test_profile_based_reference_agrees_with_the_data_based_one() -> None:
    from shipyard.data import profile_table

    rng = np.random.default_rng(8)
    data = pa.table({"x": rng.normal(0, 1, 50_000), "c": rng.choice(["a", "b"], 50_000)})
    approx = ReferenceStats.from_profile(profile_table(data))
    assert approx.source == "profile"
    cur = pa.table({"x": rng.normal(0.5, 1, 5000), "c": rng.choice(["a", "b"], 5000)})
    res = compute_drift(approx, cur)
    assert res.drifted_columns == ["x"]
    assert res.columns["x"].statistic == pytest.approx(0.5, abs=0.1)
