"""Each protocol against a real uvicorn server; bad input → 400 naming the input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from shipyard.serving import create_server
from tests._support import run_uvicorn


@pytest.fixture(scope="module")
def url(workspace: Any, tabular: Any, tensor_model: Any) -> Iterator[str]:
    app = create_server(
        workspace, ["churn@1", "digits"], max_body_bytes=20_000, watch_interval_s=None
    )
    with run_uvicorn(app) as base:
        yield base


def test_health_and_metadata(url: str) -> None:
    with httpx.Client(base_url=url) as c:
        assert c.get("/v2/health/live").json() == {"live": True}
        assert c.get("/v2/health/ready").status_code == 200
        assert c.get("/v2").json()["name"] == "shipyard"
        meta = c.get("/v2/models/churn").json()
        assert meta["name"] == "churn" and meta["versions"] == ["1"]
        assert [i["name"] for i in meta["inputs"]] == ["a", "b", "n"]
        assert c.get("/v2/models/churn/versions/1/ready").json()["ready"] is True
        assert c.get("/v2/models/churn/versions/7/ready").status_code == 404
        assert c.get("/v2/models/nope").status_code == 404
        digits = c.get("/v2/models/digits").json()
        assert digits["inputs"][0]["datatype"] == "FP32"


def test_oip_infer_columns_and_tensor(url: str) -> None:
    with httpx.Client(base_url=url) as c:
        body = {
            "id": "r1",
            "inputs": [
                {"name": "a", "shape": [2], "datatype": "FP64", "data": [2.0, -2.0]},
                {"name": "b", "shape": [2, 1], "datatype": "FP32", "data": [[1.0], [-1.0]]},
                {"name": "n", "shape": [2], "datatype": "INT64", "data": [1, 2]},
            ],
        }
        r = c.post("/v2/models/churn/versions/1/infer", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["id"] == "r1" and out["model_version"] == "1"
        assert out["outputs"][0]["data"] == [1, 0] and out["outputs"][0]["shape"] == [2]
        t = {
            "inputs": [
                {"name": "input", "shape": [3, 4], "datatype": "FP32", "data": list(range(12))}
            ]
        }
        r = c.post("/v2/models/digits/infer", json=t)
        assert r.status_code == 200, r.text
        got = r.json()["outputs"][0]["data"]
        np.testing.assert_allclose(got, [6, 22, 38], rtol=1e-3)


def test_tfserving_and_records(url: str) -> None:
    with httpx.Client(base_url=url) as c:
        r = c.post("/v1/models/churn:predict", json={"instances": [{"a": 3, "b": 1, "n": 0}]})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == [1]
        r = c.post("/v1/models/churn:predict", json={"inputs": {"a": [-3], "b": [-1], "n": [0]}})
        assert r.json()["predictions"] == [0]
        r = c.post("/v1/models/digits:predict", json={"instances": [[1, 1, 1, 1]]})
        assert r.status_code == 200 and abs(r.json()["predictions"][0] - 4) < 1e-3
        recs = [{"a": 1.0, "b": 1.0, "n": 1}, {"a": -1.0, "b": -1.0, "n": 2}]
        r = c.post("/v1/models/churn/predict", json=recs)
        assert r.status_code == 200 and r.json()["predictions"] == [1, 0]
        assert r.json()["version"] == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/models/churn/predict", [{"a": 1.0, "b": 1.0}], "n"),
        ("/v1/models/churn/predict", [{"a": "x", "b": 1.0, "n": 1}], "a"),
        ("/v1/models/churn:predict", {"instances": [{"a": 1, "b": 2, "n": 1.5}]}, "n"),
        ("/v1/models/churn:predict", {"nothing": 1}, "instances"),
        (
            "/v2/models/churn/infer",
            {"inputs": [{"name": "zz", "shape": [1], "datatype": "FP64", "data": [1]}]},
            "zz",
        ),
        (
            "/v2/models/churn/infer",
            {"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1]}]},
            "a",
        ),
        (
            "/v2/models/churn/infer",
            {"inputs": [{"name": "a", "shape": [1], "datatype": "FP99", "data": [1]}]},
            "a",
        ),
        (
            "/v2/models/digits/infer",
            {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
            "input",
        ),
        ("/v2/models/churn/infer", {"inputs": "nope"}, "inputs"),
        ("/v1/models/churn/predict", [], "records"),
    ],
)
def test_bad_input_is_400_naming_the_field(url: str, path: str, body: Any, field: str) -> None:
    r = httpx.post(url + path, json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "InvalidInput"
    assert err["details"]["field"] == field
    assert field in err["message"]


def test_invalid_json_and_oversized(url: str) -> None:
    r = httpx.post(url + "/v1/models/churn/predict", content=b"{not json")
    assert r.status_code == 400
    big = [{"a": 1.0, "b": 1.0, "n": 1}] * 2000
    r = httpx.post(url + "/v1/models/churn/predict", json=big)
    assert r.status_code == 413


def test_unknown_routes_and_methods_answer_json(url: str) -> None:
    with httpx.Client(base_url=url) as c:
        r = c.get("/v3/nothing")
        assert r.status_code == 404
        assert r.json()["error"]["type"] == "NotFound" and "/v3/nothing" in r.text
        r = c.get("/v2/models/churn/infer")
        assert r.status_code == 405 and "POST" in r.headers["allow"]
        assert r.json()["error"]["type"] == "MethodNotAllowed"


def test_metrics_count_requests(url: str) -> None:
    text = httpx.get(url + "/metrics").text
    assert (
        'shipyard_requests_total{code="200",model="churn",protocol="records",version="1"}' in text
    )
    assert 'shipyard_requests_total{code="400"' in text
    assert "shipyard_batch_rows_bucket" in text
    assert "shipyard_inference_duration_seconds_count" in text


def test_malformed_payloads_never_500(url: str) -> None:
    """A fuzz-style sweep over every inference endpoint: nothing answers 500."""
    import itertools

    tensors = [
        {"name": "a", "shape": [-1], "datatype": "FP64", "data": [1]},
        {"name": "a", "shape": [1], "datatype": "BYTES", "data": ["x"]},
        {"name": "a", "shape": [1], "datatype": "INT8", "data": [1e40]},
        {"name": "a", "shape": [1], "datatype": "BOOL", "data": [None]},
        {"name": "a", "shape": [1], "datatype": "FP32", "data": [[1, 2], [3]]},
        {"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]},
        {"name": "a", "shape": "1", "datatype": "FP32", "data": [1]},
        {"name": 5, "shape": [1], "datatype": "FP32", "data": {"x": 1}},
        {"shape": [1]},
        "a",
        None,
    ]
    bodies: list[object] = [
        None, 1, "x", [], {}, [1, 2], [[1, 2]], [{"a": None, "b": None, "n": None}],
        [{"a": [1, 2], "b": 1, "n": 1}], [{"a": {"x": 1}, "b": 1, "n": 1}],
        {"instances": None}, {"instances": [None]}, {"instances": [[1, 2, 3]]},
        {"instances": [{"a": True, "b": "1", "n": "1"}]}, {"inputs": {"a": None}},
        {"inputs": {"a": [1], "b": [1, 2], "n": [1]}}, {"inputs": 3},
        {"records": [{"a": 1}]}, {"dataframe_records": "x"},
        *({"inputs": [t]} for t in tensors),
        *({"inputs": [t, t]} for t in tensors[:4]),
    ]  # fmt: skip
    paths = [
        "/v1/models/churn/predict", "/v1/models/churn:predict", "/v2/models/churn/infer",
        "/v2/models/digits/infer", "/v1/models/digits:predict", "/v2/models/churn/versions/1/infer",
        "/v2/models/churn/versions/x/infer", "/v1/models/missing/predict",
    ]  # fmt: skip
    with httpx.Client(base_url=url) as c:
        for path, body in itertools.product(paths, bodies):
            r = c.post(path, json=body)
            assert r.status_code < 500, (path, body, r.text)
            assert "error" in r.json() or r.status_code == 200
        for path in paths:
            r = c.post(path, content=b"\xff\xfe not json")
            assert r.status_code == 400, r.text


def test_onnx_runtime_when_the_version_exports(workspace: Any, tensor_model: Any) -> None:
    body = {"instances": [[1, 1, 1, 1]]}
    for _ in range(2):  # the second server reuses the first one's export
        app = create_server(workspace, [tensor_model.ref], onnx=True, watch_interval_s=None)
        with run_uvicorn(app) as base:
            assert httpx.get(base + "/v2/models/digits").json()["platform"] == "onnx"
            r = httpx.post(base + "/v1/models/digits:predict", json=body)
            assert r.status_code == 200
            assert abs(float(np.ravel(r.json()["predictions"])[0]) - 4) < 1e-3
    flavors = [v.flavor for v in workspace.models.versions("digits")]
    assert flavors.count("onnx") == 1
