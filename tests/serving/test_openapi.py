"""The server's OpenAPI document, and schemathesis against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
import schemathesis

from shipyard.serving import create_server
from tests._support import run_uvicorn

# Bounded so that the whole run stays under a minute on a small machine.
FUZZ_CONFIG = {
    "seed": 20240601,
    "generation": {
        "mode": "all",
        "max-examples": 25,
        "database": "none",
    },
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "enabled": False,
        "no_server_errors": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
}


@pytest.fixture(scope="module")
def plans(workspace: Any) -> Any:
    """A pipeline over a frame with float, string and integer columns."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 120),
            "plan": rng.choice(["basic", "pro", "team"], 120),
            "visits": rng.integers(0, 30, 120),
        }
    )
    y = ((X["age"] > 40) ^ (X["plan"] == "pro")).astype(int)
    pipe = Pipeline(
        [
            (
                "cols",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["age", "visits"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    return workspace.models.register("plans", pipe, input_example=X.head(3))


def _server(workspace: Any, **options: Any) -> Any:
    return create_server(
        workspace,
        ["plans", "digits"],
        max_body_bytes=50_000,
        watch_interval_s=None,
        batching={"max_latency_ms": 1.0},
        prediction_log=False,
        **options,
    )


@pytest.fixture(scope="module")
def url(workspace: Any, plans: Any, tensor_model: Any) -> Iterator[str]:
    app = _server(workspace)
    with run_uvicorn(app) as base:
        yield base


def test_document_is_openapi_31_naming_each_model(url: str) -> None:
    from openapi_spec_validator import validate

    doc = httpx.get(url + "/openapi.json").json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    for model in ("plans", "digits"):
        assert f"/v2/models/{model}/infer" in doc["paths"]
        assert f"/v1/models/{model}:predict" in doc["paths"]
        assert model in doc["info"]["description"]
    assert "/v1/models/plans/predict" in doc["paths"]
    for generic in ("/v2/models/{name}/infer", "/v2/repository/index", "/metrics", "/v2"):
        assert generic in doc["paths"]
    datatypes = doc["components"]["schemas"]["Datatype"]["enum"]
    assert {"FP32", "INT64", "BYTES", "BOOL"} <= set(datatypes)
    tensor = doc["paths"]["/v2/models/digits/infer"]["post"]["requestBody"]
    body = tensor["content"]["application/json"]["schema"]
    spec = body["properties"]["inputs"]["items"]
    assert spec["properties"]["name"]["const"] == "input"
    assert spec["properties"]["datatype"]["const"] == "FP32"
    records = doc["paths"]["/v1/models/plans/predict"]["post"]["requestBody"]
    record = records["content"]["application/json"]["schema"]["items"]
    assert record["required"] == ["age", "plan", "visits"]
    assert record["properties"]["plan"] == {"type": "string"}
    assert record["properties"]["visits"] == {"type": "integer"}


def test_examples_in_the_document_are_answered(url: str) -> None:
    """Each per-model example is a request the model answers with 200."""
    doc = httpx.get(url + "/openapi.json").json()
    tried = 0
    with httpx.Client(base_url=url) as c:
        for path, item in doc["paths"].items():
            if "{" in path or "post" not in item:
                continue
            media = item["post"].get("requestBody", {}).get("content", {}).get("application/json")
            if not media or "example" not in media:
                continue
            r = c.post(path, json=media["example"])
            assert r.status_code == 200, (path, r.text)
            tried += 1
    assert tried == 5  # plans: infer, :predict, /predict; digits: infer, :predict


@schemathesis.check
def no_server_errors(ctx: Any, response: Any, case: Any) -> None:
    """No 5xx, except the 503 for a request whose own x-timeout-ms deadline passed."""
    if response.status_code < 500:
        return
    if response.status_code == 503 and "x-timeout-ms" in (case.headers or {}):
        error = orjson.loads(response.content).get("error", {})
        if error.get("details", {}).get("reason") == "deadline":
            return
    raise AssertionError(f"server error {response.status_code}: {response.text[:500]}")


def _fuzz(url: str, *, repository: bool) -> tuple[list[str], int]:
    """Run schemathesis (every phase but stateful) against *url*: the repository's
    load/unload operations when *repository*, every other operation otherwise. Return
    the failures and the number of requests sent."""
    from schemathesis.engine import events, from_schema

    config = schemathesis.Config.from_dict({**FUZZ_CONFIG, "base-url": url})
    schema = schemathesis.openapi.from_url(url + "/openapi.json", config=config)
    load_unload = r"^/v2/repository/models/"
    schema = (
        schema.include(path_regex=load_unload)
        if repository
        else schema.exclude(path_regex=load_unload)
    )
    failures: list[str] = []
    requests = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError | events.NonFatalError):
            failures.append(
                f"{type(event).__name__}: {event.info if hasattr(event, 'info') else event}"
            )
        if not isinstance(event, events.ScenarioFinished):
            continue
        requests += len(event.recorder.interactions)
        for checks in event.recorder.checks.values():
            for check in checks:
                if check.failure_info is None:
                    continue
                failures.append(
                    f"{event.recorder.label} [{check.name}] {check.failure_info.failure.title}: "
                    f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}"
                )
    return failures, requests


def test_schemathesis_finds_no_server_errors(workspace: Any, plans: Any, tensor_model: Any) -> None:
    """Generated and invalid requests to every operation: no 500, every response as
    documented. Its own server: the fuzzed repository operations unload models."""
    app = _server(workspace, record_deployments=False)
    with run_uvicorn(app) as base:
        failures, requests = _fuzz(base, repository=False)  # models served throughout
        more_failures, more_requests = _fuzz(base, repository=True)
    failures += more_failures
    assert not failures, "\n\n".join(sorted(set(failures)))
    assert requests > 500 and more_requests > 20  # the run really exercised the server


# ---------------------------------------------------------------------- what the run found
def _assert_400(r: httpx.Response, field: str) -> None:
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "InvalidInput"
    assert err["details"]["field"] == field
    assert field in err["message"]


@pytest.mark.parametrize("header", ["abc", "0", "-5", "nan", "inf", "1e400"])
def test_bad_timeout_header_is_400(url: str, header: str) -> None:
    body = {"instances": [[1.0, 1.0, 1.0, 1.0]]}
    r = httpx.post(url + "/v1/models/digits:predict", json=body, headers={"x-timeout-ms": header})
    _assert_400(r, "x-timeout-ms")
    r = httpx.post(url + "/v1/models/digits:predict", json=body, headers={"x-timeout-ms": "2000"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ref": "", "parameters": [None, None]}, "parameters"),
        ({"parameters": "plans@1"}, "parameters"),
        ({"ref": {"name": "plans"}}, "ref"),
        ({"parameters": {"ref": 3}}, "ref"),
        (["plans@1"], "body"),
    ],
)
def test_bad_load_request_is_400(url: str, body: Any, field: str) -> None:
    r = httpx.post(url + "/v2/repository/models/extra/load", json=body)
    _assert_400(r, field)
    names = [m["name"] for m in httpx.get(url + "/v2/repository/index").json()]
    assert "extra" not in names  # nothing half-loaded


def test_load_request_with_invalid_json_is_400(url: str) -> None:
    r = httpx.post(url + "/v2/repository/models/extra/load", content=b"{not json")
    _assert_400(r, "body")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/models/digits:predict", {"instances": [[1e39, 1.0, 1.0, 1.0]]}),
        (
            "/v2/models/digits/infer",
            {
                "inputs": [
                    {"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [1e39, 1, 1, 1]}
                ]
            },
        ),
        (
            "/v2/models/digits/infer",
            {
                "inputs": [
                    {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1e39, 1, 1, 1]}
                ]
            },
        ),
    ],
)
def test_values_beyond_float32_are_400(url: str, path: str, body: Any) -> None:
    """Cast to float32 they became inf, and the model failed with a 500."""
    _assert_400(httpx.post(url + path, json=body), "input")


def test_fp16_overflow_in_a_column_is_400(url: str) -> None:
    body = {
        "inputs": [
            {"name": "age", "shape": [1], "datatype": "FP16", "data": [1e6]},
            {"name": "plan", "shape": [1], "datatype": "BYTES", "data": ["pro"]},
            {"name": "visits", "shape": [1], "datatype": "INT64", "data": [3]},
        ]
    }
    _assert_400(httpx.post(url + "/v2/models/plans/infer", json=body), "age")


@pytest.mark.parametrize("value", [{"a": 1}, [["pro"]]])
def test_object_in_a_string_column_is_400(url: str, value: Any) -> None:
    recs = [{"age": 30.0, "plan": "pro", "visits": 1}, {"age": 30.0, "plan": value, "visits": 1}]
    _assert_400(httpx.post(url + "/v1/models/plans/predict", json=recs), "plan")
