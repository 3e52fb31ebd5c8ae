"""Quantization: static int8 on a CNN, dynamic on an MLP, fp16, the holdout gate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import shipyard as sy
from shipyard.export import DataRequired, QuantizationRefused, UnsupportedModel


def _register_cnn(ws: Any, cnn: Any, digits: dict[str, Any]) -> Any:
    Xte, _ = digits["test"]
    return ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xte[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )


def test_auto_picks_static_for_a_cnn_and_the_gate_passes(
    sqlite_ws: Any, cnn: Any, digits: dict[str, Any]
) -> None:
    ws = sqlite_ws
    _register_cnn(ws, cnn, digits)
    onnx_v = sy.export.to_onnx("digits-cnn@1", dataset=digits["test"], ws=ws, benchmark=False)
    q = sy.export.quantize(
        onnx_v, "auto", dataset=digits["train"], holdout=digits["test"], ws=ws, calibration_rows=128
    )
    rep = sy.export.report(q, ws=ws).report
    assert rep["method"] == "static" and rep["requested"] == "auto"
    assert rep["calibration"] == {"data": "(X, y)[1200 rows]", "rows": 128}
    gate = rep["gate"]
    assert (
        gate["passed"] and gate["metric"] == "accuracy" and gate["rows"] == len(digits["test"][0])
    )
    assert gate["before"] - gate["after"] <= 0.01
    assert rep["size"]["before"] == onnx_v.size_bytes and rep["size"]["after"] == q.size_bytes
    assert rep["size"]["ratio"] > 1.5  # int8 weights; a model this small keeps graph overhead
    assert set(rep["latency"]["after"]) == {"batch_1", "batch_32"}
    ops = {
        n.op_type for n in __import__("onnx").load_from_string(ws.models.model_bytes(q)).graph.node
    }
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert q.tags["quantization"] == "int8-static"
    g = ws.lineage.upstream(q.lineage_node, depth=1)
    assert any(e.relation == "quantized_from" and e.src == onnx_v.lineage_node.key for e in g.edges)
    # the quantized version serves any batch size and agrees with the float model
    Xte, _ = digits["test"]
    pf, pq = ws.models.load(onnx_v).predict(Xte[:64]), ws.models.load(q).predict(Xte[:5])
    assert len(pq) == 5 and np.mean(ws.models.load(q).predict(Xte[:64]) == pf) > 0.9


def test_gate_refuses_a_model_whose_accuracy_collapses(
    sqlite_ws: Any, digits: dict[str, Any]
) -> None:
    """One huge weight on an always-zero pixel leaves the float model intact but makes the
    int8 scale so coarse that every other weight rounds to zero."""
    import torch

    from tests.export._models import TinyMLP, train

    X, y = digits["flat_train"]
    mlp = train(TinyMLP(64, 32, 10), torch.from_numpy(X), torch.from_numpy(y), epochs=8)
    assert float(X[:, 0].max()) == 0.0  # the top-left pixel of every digit is blank
    with torch.no_grad():
        mlp.net[1].weight[:, 0] = 1e6
    ws = sqlite_ws
    ws.models.register(
        "fragile",
        mlp,
        input_example=X[:2],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    with pytest.raises(QuantizationRefused) as err:
        sy.export.quantize("fragile@1", "dynamic", dataset=digits["flat_test"], ws=ws)
    msg = str(err.value)
    assert "the int8-dynamic quantization of fragile@2 was not registered" in msg
    assert "accuracy on (X, y)[597 rows] fell from 0.8" in msg and "tolerance of 1 point(s)" in msg
    rep = err.value.report
    assert rep["gate"]["passed"] is False and rep["gate"]["after"] < 0.5
    # the ONNX export (converted first) is registered; the quantized model is not
    assert [(v.version, v.flavor) for v in ws.models.versions("fragile")] == [
        (1, "pytorch"),
        (2, "onnx"),
    ]
    stored = sy.export.reports("fragile@2", ws=ws)
    assert [(r.operation, r.status) for r in stored] == [
        ("quantize", "refused"),
        ("onnx", "registered"),
    ]
    assert stored[0].report["refused"] == msg
    # a looser tolerance lets the user accept the loss knowingly
    q = sy.export.quantize(
        "fragile@2", "dynamic", dataset=digits["flat_test"], tolerance=1.0, ws=ws, benchmark=False
    )
    assert q.version == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_non_onnx_model_is_converted_first(sqlite_ws: Any, digits: dict[str, Any]) -> None:
    from sklearn.neural_network import MLPClassifier

    X, y = digits["flat_train"]
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=100, random_state=0).fit(X, y)
    sqlite_ws.models.register("mlp", mlp, input_example=X[:3])
    q = sy.export.quantize("mlp", "auto", dataset=digits["flat_test"], ws=sqlite_ws)
    versions = {v.version: v for v in sqlite_ws.models.versions("mlp")}
    assert [versions[i].flavor for i in (1, 2, 3)] == ["sklearn", "onnx", "onnx"]
    rep = sy.export.report(q, ws=sqlite_ws).report
    assert rep["converted"] == "mlp@2" and rep["method"] == "dynamic"
    chain = sqlite_ws.lineage.upstream(q.lineage_node)
    relations = {
        (chain.nodes[e.src].label, e.relation, chain.nodes[e.dst].label) for e in chain.edges
    }
    assert ("mlp@1", "exported_from", "mlp@2") in relations
    assert ("mlp@2", "quantized_from", "mlp@3") in relations


def test_fp16_halves_the_weights(sqlite_ws: Any, digits: dict[str, Any]) -> None:
    pytest.importorskip("onnxconverter_common")
    import torch

    from tests.export._models import TinyMLP, train

    X, y = digits["flat_train"]
    mlp = train(TinyMLP(64, 64, 10), torch.from_numpy(X), torch.from_numpy(y), epochs=3)
    sqlite_ws.models.register("half", mlp, input_example=X[:2], flavor_options={"output": "logits"})
    q = sy.export.quantize(
        "half", "fp16", dataset=digits["flat_test"], ws=sqlite_ws, benchmark=False
    )
    rep = sy.export.report(q, ws=sqlite_ws).report
    assert rep["method"] == "fp16" and 1.7 < rep["size"]["ratio"] < 2.1
    assert rep["gate"]["passed"] and q.tags["quantization"] == "float16"


def test_quantization_bad_inputs(sqlite_ws: Any, cnn: Any, digits: dict[str, Any]) -> None:
    from sklearn.ensemble import RandomForestClassifier

    ws = sqlite_ws
    _register_cnn(ws, cnn, digits)
    onnx_v = sy.export.to_onnx("digits-cnn", dataset=digits["test"], ws=ws, benchmark=False)
    with pytest.raises(DataRequired, match=r"quantizing digits-cnn@2 needs rows .* pass dataset="):
        sy.export.quantize(onnx_v, "dynamic", ws=ws)
    with pytest.raises(DataRequired, match=r"static int8 quantization of digits-cnn@2 calibrates"):
        sy.export.quantize(onnx_v, "static", holdout=digits["test"], ws=ws)
    with pytest.raises(sy.InvalidInput, match=r"unknown quantization 'int4'; use one of dynamic"):
        sy.export.quantize(onnx_v, "int4", dataset=digits["test"], ws=ws)
    X, y = digits["flat_train"]
    ws.models.register(
        "forest", RandomForestClassifier(n_estimators=3, max_depth=3).fit(X, y), input_example=X[:2]
    )
    with pytest.raises(UnsupportedModel, match=r"no operators ONNX Runtime quantizes"):
        sy.export.quantize("forest", "dynamic", dataset=digits["flat_test"], ws=ws)
    assert [v.flavor for v in ws.models.versions("forest")] == ["sklearn", "onnx"]
