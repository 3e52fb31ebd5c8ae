"""Table profiles (the reference statistics) and schema validation."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.core import InvalidInput
from shipyard.data import SchemaViolation, TableProfile, profile_table
from shipyard.data.synthetic import churn_schema, make_churn


def test_profile_numbers_match_numpy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5, 2, 10_000)
    x[:100] = np.nan
    cats = rng.choice(["a", "b", "c"], 10_000, p=[0.6, 0.3, 0.1])
    df = pd.DataFrame({"x": x, "cat": cats, "flag": x > 5, "n": rng.integers(0, 3, 10_000)})
    p = profile_table(df)
    c = p["x"]
    v = x[~np.isnan(x)]
    assert (c.kind, c.count, c.null_count) == ("numeric", 9900, 100)
    assert c.min == pytest.approx(v.min()) and c.max == pytest.approx(v.max())
    assert c.mean == pytest.approx(v.mean()) and c.std == pytest.approx(v.std(ddof=1))
    assert c.quantiles is not None
    assert c.quantiles["0.5"] == pytest.approx(np.median(v), abs=0.05)
    assert c.histogram is not None
    assert len(c.histogram.edges) == len(c.histogram.counts) + 1 == 21
    assert sum(c.histogram.counts) == 9900
    counts, _ = np.histogram(v, bins=c.histogram.edges)
    assert c.histogram.counts == counts.tolist()
    cat = p["cat"]
    assert cat.kind == "categorical" and cat.top is not None and cat.distinct == 3
    assert cat.top.values == ["a", "b", "c"]
    assert cat.top.counts == [int((cats == k).sum()) for k in ("a", "b", "c")]
    assert p["flag"].kind == "boolean" and set(p["flag"].top.values) == {True, False}
    assert p["n"].top is not None  # low-cardinality numbers also get frequencies
    with pytest.raises(InvalidInput, match="no column 'zzz'"):
        p["zzz"]


def test_profile_is_json_round_trippable() -> None:
    p = profile_table(make_churn(500))
    text = p.to_json()
    back = TableProfile.from_json(text)
    assert back == p
    data = json.loads(text)
    assert data["format"] == 1 and data["row_count"] == 500
    assert data["columns"]["event_time"]["kind"] == "datetime"
    assert data["columns"]["total_charges"]["null_count"] > 0


def test_profile_edge_cases() -> None:
    t = pa.table(
        {
            "const": [3.0, 3.0, 3.0],
            "empty": pa.array([None, None, None], pa.float64()),
            "inf": [1.0, float("inf"), 2.0],
            "dict": pa.array(["x", "y", "x"]).dictionary_encode(),
        }
    )
    p = profile_table(t)
    assert p["const"].histogram.counts == [3]
    assert p["empty"].count == 0 and p["empty"].histogram is None
    assert p["inf"].max == 2.0 and sum(p["inf"].histogram.counts) == 2
    assert p["dict"].top.values == ["x", "y"]
    json.dumps(p.to_dict(), allow_nan=False)
    with pytest.raises(InvalidInput, match="cannot profile a list"):
        profile_table([1, 2])


def test_commit_validates_against_the_dataset_schema(ws: Any) -> None:
    ws.datasets.set_schema("churn", churn_schema())
    assert ws.datasets.get_schema("churn") == churn_schema()
    good = make_churn(200)
    v1 = ws.datasets.commit("churn", good)
    assert v1.validation_report is not None and v1.validation_report.valid
    bad = good.copy()
    bad.loc[:4, "tenure_months"] = -1
    bad.loc[7, "contract"] = "forever"
    with pytest.raises(SchemaViolation) as info:
        ws.datasets.commit("churn", bad)
    message = str(info.value)
    assert "tenure_months" in message and "in_range" in message and "5 row(s)" in message
    assert "nothing was committed" in message and "allow_invalid=True" in message
    failures = {f.column: f for f in info.value.report.failures}
    assert failures["tenure_months"].failed_rows == 5 and failures["tenure_months"].samples == [-1]
    assert failures["contract"].samples == ["forever"]
    assert [v.version for v in ws.datasets.log("churn")] == [1]  # nothing half-written
    v2 = ws.datasets.commit("churn", bad, allow_invalid=True)
    assert v2.version == 2 and not v2.validation_report.valid
    assert {f.column for f in v2.validation_report.failures} == {"tenure_months", "contract"}
    report = ws.datasets.validate("churn@1")
    assert report.valid
    with pytest.raises(InvalidInput, match="must be tables"):
        ws.datasets.commit("churn", __file__)
    ws.datasets.set_schema("churn", None)
    with pytest.raises(InvalidInput, match="has no schema to validate against"):
        ws.datasets.validate("churn@1")


def test_schemas_that_cannot_be_stored_are_refused(sqlite_ws: Any) -> None:
    import pandera.pandas as pa_

    custom = pa_.DataFrameSchema({"a": pa_.Column(int, pa_.Check(lambda s: s > 0))})
    with pytest.raises(InvalidInput, match="register_check_method"):
        sqlite_ws.datasets.set_schema("d", custom)
    with pytest.raises(InvalidInput, match="not a pandera schema"):
        sqlite_ws.datasets.set_schema("d", {"columns": 3})
    with pytest.raises(InvalidInput, match="pass a pandera DataFrameSchema"):
        sqlite_ws.datasets.set_schema("d", 42)
    # JSON text works too (what the CLI passes)
    sqlite_ws.datasets.set_schema("d", churn_schema().to_json())
    assert sqlite_ws.datasets.get_schema("d") == churn_schema()
