"""Signature.prepare refuses values a model cannot take, naming the field."""

from __future__ import annotations

import re

import numpy as np
import pytest

from shipyard import InvalidInput
from shipyard.registry import Signature


@pytest.mark.parametrize(
    ("dtype", "data", "bad"),
    [
        ("float32", np.array([[1e39, 0.0]]), "1e+39"),
        ("float16", np.array([[70000, 0]]), "70000"),
        ("int32", np.array([[2**40, 0]]), str(2**40)),
        ("uint8", np.array([[300, 0]], dtype=np.uint16), "300"),
        ("int8", np.array([[0, -200]]), "-200"),
    ],
)
def test_tensor_cast_out_of_range_is_refused(dtype: str, data: np.ndarray, bad: str) -> None:
    sig = Signature.tensor(dtype, [-1, 2], name="x")
    with pytest.raises(
        InvalidInput, match=rf"tensor 'x' .* holds {re.escape(bad)}, beyond the range"
    ) as e:
        sig.prepare(data, "the input")
    assert e.value.details == {"field": "x", "problem": "range", "expected": dtype}


def test_tensor_cast_in_range_and_existing_nan_pass() -> None:
    out = Signature.tensor("float32", [-1, 2]).prepare(np.array([[np.nan, 3e38]]), "the input")
    assert out.dtype == np.float32 and np.isnan(out[0, 0]) and np.isfinite(out[0, 1])
    out = Signature.tensor("int32", [-1, 2]).prepare(np.array([[2**31 - 1, -(2**31)]]), "x")
    assert out.dtype == np.int32 and out.tolist() == [[2**31 - 1, -(2**31)]]


@pytest.mark.parametrize("value", [{"a": 1}, ["pro"], ("pro",)])
def test_object_in_a_column_is_refused(value: object) -> None:
    sig = Signature.columns({"plan": "str", "n": "int64"})
    records = [{"plan": "basic", "n": 1}, {"plan": value, "n": 2}]
    with pytest.raises(InvalidInput, match=r"column 'plan' .*") as e:
        sig.prepare(records, "the input")
    assert e.value.details["field"] == "plan"


def test_text_and_missing_values_in_a_string_column_pass() -> None:
    sig = Signature.columns({"plan": "str"})
    out = sig.prepare([{"plan": "basic"}, {"plan": None}], "the input")
    assert out["plan"].tolist() == ["basic", None]
