"""``shipyard models export / distill``, ``shipyard export`` and the REST routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import shipyard as sy
from shipyard.cli import app
from shipyard.cli._common import reset_state
from shipyard.server import create_app
from tests._support import run_uvicorn

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def invoke(*args: str) -> Any:
    reset_state()
    return runner.invoke(app, list(args))


@pytest.fixture
def home(tmp_path: Path, churn: pd.DataFrame, churn_pipeline: Any) -> str:
    from sklearn.neural_network import MLPClassifier

    path = str(tmp_path / "ws")
    with sy.Workspace(path) as ws:
        X = churn.drop(columns=["churned"])
        ws.models.register("churn", churn_pipeline, input_example=X.head(5))
        ws.datasets.commit("churn", churn)
        num = churn[["monthly", "calls"]].assign(churned=churn["churned"])
        mlp = MLPClassifier((16,), max_iter=50, random_state=0)
        ws.models.register(
            "mlp",
            mlp.fit(num[["monthly", "calls"]] / 50, num["churned"]),
            input_example=num[["monthly", "calls"]].head(3) / 50,
        )
        ws.datasets.commit(
            "numeric", (num[["monthly", "calls"]] / 50).assign(churned=num["churned"])
        )
    return path


def test_cli_export_quantize_ort_and_reports(home: str, tmp_path: Path) -> None:
    r = invoke("--home", home, "models", "export", "churn@1", "--dataset", "churn@1", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["version"]["ref"] == "churn@2" and out["version"]["flavor"] == "onnx"
    assert out["report"]["report"]["parity"]["passed"] is True

    target = tmp_path / "mlp.ort"
    r = invoke(
        "--home",
        home,
        "models",
        "export",
        "mlp",
        "--quantize",
        "dynamic",
        "--format",
        "ort",
        "--dataset",
        "numeric@1",
        "-o",
        str(target),
    )
    assert r.exit_code == 0, r.output
    assert "registered mlp@4 (ort" in r.output and "parity on" in r.output
    assert target.read_bytes()[4:8] == b"ORTM"

    r = invoke("--home", home, "export", "reports", "--json")
    ops = [(x["operation"], x["source"], x["result"]) for x in json.loads(r.output)]
    assert ops == [
        ("ort", "mlp@3", "mlp@4"),
        ("quantize", "mlp@2", "mlp@3"),
        ("onnx", "mlp@1", "mlp@2"),
        ("onnx", "churn@1", "churn@2"),
    ]
    r = invoke("--home", home, "export", "show", "mlp@3")
    assert r.exit_code == 0 and "quantize of mlp@2 (dynamic)" in r.output
    assert "latency batch 32" in r.output


def test_cli_errors_and_distill(home: str) -> None:
    r = invoke("--home", home, "models", "export", "churn@1", "--quantize", "static")
    assert r.exit_code == 1
    assert "DataRequired: quantizing churn@1 needs rows" in r.output
    r = invoke("--home", home, "models", "export", "churn@1", "--format", "tflite")
    assert r.exit_code == 1 and "--format must be one of onnx, ort" in r.output
    with sy.Workspace(home) as ws:
        assert [v.version for v in ws.models.versions("churn")] == [1]  # nothing half-written

    r = invoke(
        "--home", home, "models", "distill", "mlp@1", "--student", "nope", "--dataset", "numeric@1"
    )
    assert r.exit_code == 1 and "is not an import path" in r.output
    r = invoke(
        "--home",
        home,
        "models",
        "distill",
        "mlp@1",
        "--student",
        "sklearn.tree:DecisionTreeClassifier",
        "--student-args",
        '{"max_depth": 3}',
        "--dataset",
        "numeric@1",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["version"]["ref"] == "mlp-student@1"
    assert out["report"]["report"]["metric"]["after"] > 0.6


@pytest.fixture
def server(home: str) -> Iterator[str]:
    with sy.Workspace(home) as ws, run_uvicorn(create_app(ws)) as url:
        yield url


def test_rest_export_and_reports(server: str) -> None:
    r = httpx.post(
        f"{server}/api/v1/models/churn/versions/1/export", json={"dataset": "churn@1"}, timeout=120
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"]["ref"] == "churn@2" and body["report"]["status"] == "registered"
    r = httpx.get(f"{server}/api/v1/models/churn/versions/2/export-reports")
    assert r.json()["produced_by"]["source"] == "churn@1"
    r = httpx.get(f"{server}/api/v1/models/churn/versions/1/export-reports")
    assert [d["result"] for d in r.json()["derived"]] == ["churn@2"]
    rid = body["report"]["id"]
    assert httpx.get(f"{server}/api/v1/export/reports/{rid}").json()["result"] == "churn@2"
    listed = httpx.get(f"{server}/api/v1/export/reports", params={"model": "churn@1"}).json()
    assert [x["id"] for x in listed["reports"]] == [rid]

    # a tree-free linear pipeline has nothing ONNX Runtime quantizes: a clear 422
    r = httpx.post(
        f"{server}/api/v1/models/churn/versions/2/export",
        json={"quantize": "dynamic", "dataset": "churn@1"},
        timeout=120,
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "UnsupportedModel" and "leaves churn@2 unchanged" in err["message"]
    r = httpx.post(f"{server}/api/v1/models/churn/versions/1/export", json={"format": "tflite"})
    assert r.status_code == 422 and "format must be one of" in r.json()["error"]["message"]
    assert httpx.get(f"{server}/api/v1/export/reports/01ABC").status_code == 404
    assert np.isfinite(body["report"]["report"]["parity"]["max_abs_diff"])


def test_ui_pages_show_the_report(server: str) -> None:
    r = httpx.post(
        f"{server}/api/v1/models/churn/versions/1/export", json={"dataset": "churn@1"}, timeout=120
    )
    body = r.json()
    vid, src_id = body["version"]["id"], None
    page = httpx.get(f"{server}/models/versions/{vid}/export")
    assert page.status_code == 200
    html = page.text
    assert "How it was made" in html and 'id="export-report"' in html
    assert "size (bytes)" in html and "latency batch 32 p50 / p95 (ms)" in html
    assert "Parity on 200 rows" in html and "passed" in html
    src = httpx.get(f"{server}/api/v1/models/churn/versions/1").json()
    src_id = src["id"]
    html = httpx.get(f"{server}/models/versions/{src_id}/export").text
    assert f'href="/models/versions/{vid}">churn@2</a>' in html
    rid = body["report"]["id"]
    html = httpx.get(f"{server}/export/reports/{rid}").text
    assert "onnx of" in html and "registered" in html
    assert httpx.get(f"{server}/export/reports/01ABCDEFGHJKMNPQRSTVWXYZ00").status_code == 404
