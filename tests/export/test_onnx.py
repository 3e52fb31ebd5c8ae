"""ONNX export: a round trip per converter with parity, and the errors users can hit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.export import DataRequired, ParityFailed, UnsupportedModel


def _edges(ws: Any, v: Any) -> set[tuple[str, str]]:
    g = ws.lineage.upstream(v.lineage_node, depth=1)
    return {(g.nodes[e.src].label, e.relation) for e in g.edges if e.dst == v.lineage_node.key}


def test_sklearn_pipeline_with_column_transformer(
    sqlite_ws: Any, churn: pd.DataFrame, churn_pipeline: Any
) -> None:
    ws = sqlite_ws
    X = churn.drop(columns=["churned"])
    src = ws.models.register("churn", churn_pipeline, input_example=X.head(5))
    onnx_v = sy.export.to_onnx("churn@1", dataset=churn, ws=ws)

    assert (onnx_v.ref, onnx_v.flavor) == ("churn@2", "onnx")
    assert onnx_v.signature.column_names == ["age", "monthly", "calls", "plan"]
    assert ("churn@1", "exported_from") in _edges(ws, onnx_v)
    # typed inputs: one per column; strings stay strings; the integer count feeds the
    # imputer and scaler, which take floats
    assert {i["name"]: i["dtype"] for i in onnx_v.flavor_meta["inputs"]} == {
        "age": "float32",
        "monthly": "float32",
        "calls": "float32",
        "plan": "object",
    }
    fresh = X.sample(50, random_state=1)
    cols = {c: fresh[c].to_numpy() for c in fresh.columns}
    p_src = ws.models.load(src).predict_proba(fresh)
    p_onnx = ws.models.load(onnx_v).predict_proba(cols)
    np.testing.assert_allclose(p_onnx, p_src, atol=1e-5)
    assert (ws.models.load(onnx_v).predict(cols) == churn_pipeline.predict(fresh)).all()

    rep = sy.export.report(onnx_v, ws=ws)
    assert rep.operation == "onnx" and rep.passed and rep.source == "churn@1"
    par = rep.report["parity"]
    assert par["passed"] and par["label_agreement"] == 1.0 and par["max_abs_diff"] < 1e-5
    assert par["rows"] == 200 and par["compared"] == "probabilities"
    assert rep.report["metric"]["name"] == "accuracy"
    assert rep.report["metric"]["before"] == pytest.approx(rep.report["metric"]["after"])
    lat = rep.report["latency"]
    for side in ("before", "after"):
        assert set(lat[side]) == {"batch_1", "batch_32"}
        assert 0 < lat[side]["batch_1"]["p50_ms"] <= lat[side]["batch_1"]["p95_ms"]
    assert rep.report["size"]["before"] == src.size_bytes
    assert rep.report["size"]["after"] == onnx_v.size_bytes
    assert [r.result for r in sy.export.reports("churn@1", ws=ws)] == ["churn@2"]


def test_sklearn_array_models_and_regression(sqlite_ws: Any) -> None:
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rf = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, y)
    sqlite_ws.models.register("rf", rf, input_example=X[:3])
    v = sy.export.to_onnx("rf", dataset=(X, y), ws=sqlite_ws)
    assert v.flavor == "onnx" and v.signature.is_tensor
    par = sy.export.report(v, ws=sqlite_ws).report["parity"]
    assert par["passed"] and par["label_agreement"] >= 0.99

    target = X @ np.arange(1, 7) + rng.normal(0, 0.1, 300)
    gbr = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, target)
    sqlite_ws.models.register("price", gbr, input_example=X[:3])
    pv = sy.export.to_onnx("price", dataset=(X, target), ws=sqlite_ws)
    rep = sy.export.report(pv, ws=sqlite_ws).report
    assert rep["parity"]["compared"] == "predictions" and rep["parity"]["passed"]
    assert rep["metric"]["name"] == "r2" and rep["metric"]["after"] > 0.8
    assert rep["metric"]["after"] == pytest.approx(rep["metric"]["before"], abs=1e-4)
    out = sqlite_ws.models.load(pv).predict(X[:5]).reshape(-1)
    np.testing.assert_allclose(out, gbr.predict(X[:5]), rtol=1e-4)


def test_lightgbm_round_trip(sqlite_ws: Any) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    pytest.importorskip("onnxmltools")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1).fit(X, y)
    sqlite_ws.models.register("gbm", model, input_example=X[:3])
    v = sy.export.to_onnx("gbm", dataset=(X, y), ws=sqlite_ws)
    assert sy.export.report(v, ws=sqlite_ws).report["converter"].startswith("skl2onnx")
    np.testing.assert_allclose(
        sqlite_ws.models.load(v).predict_proba(X[:20]), model.predict_proba(X[:20]), atol=1e-4
    )


def test_torch_cnn_has_dynamic_batch_and_class_head(
    sqlite_ws: Any, cnn: Any, digits: dict[str, Any]
) -> None:
    import torch

    Xte, yte = digits["test"]
    v = sqlite_ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xte[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    o = sy.export.to_onnx(v, dataset=(Xte, yte), ws=sqlite_ws)
    sess = sqlite_ws.models.load(o).raw
    assert sess.get_inputs()[0].shape[0] == "batch"
    assert [x.name for x in sess.get_outputs()] == ["label", "probabilities"]
    pred = sqlite_ws.models.load(o)
    with torch.no_grad():
        ref = torch.softmax(cnn(torch.from_numpy(Xte[:33])), dim=1).numpy()
    for n in (1, 7, 33):  # any batch size
        np.testing.assert_allclose(pred.predict_proba(Xte[:n]), ref[:n], atol=1e-5)
    assert (pred.predict(Xte[:33]) == ref.argmax(1)).all()
    assert sy.export.report(o, ws=sqlite_ws).report["parity"]["label_agreement"] == 1.0


def test_torch_string_classes_map_through_the_graph(sqlite_ws: Any) -> None:
    from tests.export._models import TinyMLP

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = TinyMLP(n_in=4, hidden=8, n_out=3).eval()
    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    v = sqlite_ws.models.register(
        "tri",
        model,
        input_example=X[:2],
        flavor_options={"output": "logits", "classes": ["lo", "mid", "hi"]},
    )
    o = sy.export.to_onnx(v, dataset=X, ws=sqlite_ws)
    labels = sqlite_ws.models.load(o).predict(X)
    assert set(labels) <= {"lo", "mid", "hi"}
    assert list(labels) == list(sqlite_ws.models.load(v).predict(X))


def test_parity_failure_refuses_registration(sqlite_ws: Any) -> None:
    """A model whose ONNX graph computes something else than its Python code is refused."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.operator_converters.linear_classifier import convert_sklearn_linear_classifier

    from tests.export._models import SharpLogisticRegression

    update_registered_converter(
        SharpLogisticRegression,
        "ShipyardTestSharpLR",
        calculate_linear_classifier_output_shapes,
        convert_sklearn_linear_classifier,
        options={"zipmap": [True, False], "nocl": [True, False], "raw_scores": [True, False]},
    )
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    model = SharpLogisticRegression().fit(X, y)
    sqlite_ws.models.register("sharp", model, input_example=X[:3])
    with pytest.raises(ParityFailed) as err:
        sy.export.to_onnx("sharp", dataset=(X, y), ws=sqlite_ws)
    assert "the ONNX export of sharp@1 was not registered: parity failed" in str(err.value)
    assert "of rows match within" in str(err.value)
    assert [v.version for v in sqlite_ws.models.versions("sharp")] == [1]
    (rep,) = sy.export.reports("sharp@1", ws=sqlite_ws)
    assert rep.status == "refused" and rep.result is None and not rep.report["parity"]["passed"]


def test_unsupported_estimator_is_named(sqlite_ws: Any) -> None:
    from tests.export._models import MedianClassifier

    X = np.random.default_rng(0).normal(size=(30, 2))
    sqlite_ws.models.register(
        "odd", MedianClassifier().fit(X, (X[:, 0] > 0).astype(int)), input_example=X[:3]
    )
    with pytest.raises(UnsupportedModel) as err:
        sy.export.to_onnx("odd", dataset=X, ws=sqlite_ws)
    msg = str(err.value)
    assert "cannot export odd@1 to ONNX: skl2onnx has no converter for MedianClassifier" in msg
    assert "update_registered_converter" in msg
    assert err.value.details["estimator"].endswith("MedianClassifier")
    assert len(sqlite_ws.models.versions("odd")) == 1


def test_no_signature_and_no_data_asks_for_a_dataset(sqlite_ws: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(40, 3))
    sqlite_ws.models.register("bare", LogisticRegression().fit(X, X[:, 0] > 0))
    with pytest.raises(DataRequired) as err:
        sy.export.to_onnx("bare", ws=sqlite_ws)
    assert "bare@1 has no signature or input example" in str(err.value)
    assert "pass dataset=" in str(err.value)
    assert err.value.http_status == 422
    # with rows, the signature is inferred and the export works
    v = sy.export.to_onnx("bare", dataset=X, ws=sqlite_ws)
    assert v.signature is not None and v.signature.is_tensor


def test_other_bad_inputs(sqlite_ws: Any, churn: pd.DataFrame, churn_pipeline: Any) -> None:
    ws = sqlite_ws
    X = churn.drop(columns=["churned"])
    ws.models.register("churn", churn_pipeline, input_example=X.head(3))
    o = sy.export.to_onnx("churn", ws=ws, benchmark=False)  # parity on the input example
    assert sy.export.report(o, ws=ws).report["parity"]["rows"] == 3
    with pytest.raises(sy.InvalidInput, match=r"churn@2 is already ONNX; quantize it"):
        sy.export.to_onnx(o, ws=ws)
    with pytest.raises(sy.InvalidInput, match=r"lacks column\(s\) plan"):
        sy.export.to_onnx("churn@1", dataset=churn.drop(columns=["plan"]), ws=ws)
    ws.models.register("fn", lambda x: np.zeros(len(x)), flavor="pyfunc")
    with pytest.raises(UnsupportedModel, match=r"flavor 'pyfunc' has no converter"):
        sy.export.to_onnx("fn", dataset=np.zeros((3, 2)), ws=ws)
    with pytest.raises(sy.NotFound):
        sy.export.to_onnx("missing@1", ws=ws)


def test_exported_pipeline_takes_dataframes(
    sqlite_ws: Any, churn: pd.DataFrame, churn_pipeline: Any
) -> None:
    X = churn.drop(columns=["churned"])
    sqlite_ws.models.register("churn", churn_pipeline, input_example=X.head(5))
    v = sy.export.to_onnx("churn", dataset=churn, ws=sqlite_ws, benchmark=False)
    np.testing.assert_allclose(
        sqlite_ws.models.load(v).predict_proba(X.head(20)),
        churn_pipeline.predict_proba(X.head(20)),
        atol=1e-5,
    )


def test_reports_and_lineage_on_every_backend(ws: Any) -> None:
    """The report table, the stored ONNX bytes and the lineage edge on each backend pair."""
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    ws.models.register("lin", LogisticRegression().fit(X, y), input_example=X[:3])
    v = sy.export.to_onnx("lin@1", dataset=(X, y), ws=ws, benchmark=False)
    (rep,) = sy.export.reports("lin@1", ws=ws)
    assert (rep.operation, rep.status, rep.result) == ("onnx", "registered", "lin@2")
    assert sy.export.Exports(ws).get_report(rep.id).report["parity"]["passed"]
    import onnx

    onnx.checker.check_model(onnx.load_from_string(ws.models.model_bytes(v)))
    np.testing.assert_allclose(
        ws.models.load(v).predict_proba(X), ws.models.load("lin@1").predict_proba(X), atol=1e-5
    )
    assert ("lin@1", "exported_from") in _edges(ws, v)
