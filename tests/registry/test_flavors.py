"""Each flavor round-trips: register → load → the same predictions; bad models fail clearly."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import torch

from shipyard.core import InvalidInput
from shipyard.registry import Flavor, LoadedModel, SavedModel, register_flavor
from tests.registry._models import ThresholdModel, TinyNet, churn_frame, fit_pipeline


def test_sklearn_pipeline_round_trip(ws: Any) -> None:
    df = churn_frame()
    pipe = fit_pipeline(df)
    X = df.drop(columns="churned")
    v = ws.models.register("churn", pipe, datasets=[df], input_example=X.head(5))
    assert (v.name, v.version, v.flavor) == ("churn", 1, "sklearn")
    p = ws.models.load("churn@1")
    np.testing.assert_array_equal(p.predict(X), pipe.predict(X))
    np.testing.assert_allclose(p.predict_proba(X), pipe.predict_proba(X))
    # dict of columns and list of records give the same answer as the frame
    cols = {c: X[c].to_numpy() for c in X.columns}
    np.testing.assert_array_equal(p.predict(cols), pipe.predict(X))
    np.testing.assert_array_equal(p.predict(X.head(3).to_dict("records")), pipe.predict(X.head(3)))
    assert p.classes == [0, 1]
    assert [o["name"] for o in v.signature.to_dict()["outputs"]] == ["prediction", "probabilities"]


def test_sklearn_plain_array_model(sqlite_ws: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X = np.random.default_rng(1).normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = LinearRegression().fit(X, y)
    sqlite_ws.models.register("lin", model, input_example=X[:2])
    p = sqlite_ws.models.load("lin")
    np.testing.assert_allclose(p.predict(X), model.predict(X))
    assert p.signature.is_tensor and p.signature.inputs[0].shape == (-1, 3)
    assert not p.has_proba
    with pytest.raises(InvalidInput, match="gives no class probabilities"):
        p.predict_proba(X)


def test_pytorch_state_dict_round_trip(ws: Any) -> None:
    torch.manual_seed(0)
    net = TinyNet().eval()
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    v = ws.models.register("net", net, input_example=X[:2], flavor_options={"output": "logits"})
    assert v.flavor == "pytorch" and v.flavor_meta["format"] == "state_dict"
    assert v.flavor_meta["class_path"] == "tests.registry._models:TinyNet"
    p = ws.models.load(v.ref)
    with torch.no_grad():
        logits = net(torch.from_numpy(X)).numpy()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p.predict_proba(X), probs, rtol=1e-5)
    np.testing.assert_array_equal(p.predict(X), logits.argmax(axis=1))


def test_pytorch_torchscript_for_unimportable_class(sqlite_ws: Any) -> None:
    class Local(torch.nn.Module):  # defined in a function: cannot be imported elsewhere
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x)

    net = Local().eval()
    X = np.ones((4, 3), dtype=np.float32)
    v = sqlite_ws.models.register("local", net, input_example=X)
    assert v.flavor_meta["format"] == "torchscript"
    with torch.no_grad():
        want = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(sqlite_ws.models.load("local").predict(X), want, rtol=1e-6)


def test_onnx_round_trip_from_skl2onnx(ws: Any) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    onx = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}})
    v = ws.models.register("onnx-clf", onx)
    assert v.flavor == "onnx"
    assert v.signature is not None and v.signature.is_tensor  # declared by the graph
    p = ws.models.load("onnx-clf")
    np.testing.assert_array_equal(p.predict(X), clf.predict(X))
    np.testing.assert_allclose(p.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    # bytes need the flavor named; with it they register too
    v2 = ws.models.register("onnx-clf", onx.SerializeToString(), flavor="onnx")
    assert v2.digest == v.digest and v2.version == 2
    with pytest.raises(InvalidInput, match="flavor='onnx'"):
        ws.models.register("onnx-clf", onx.SerializeToString())


def test_pyfunc_object_and_callable(sqlite_ws: Any) -> None:
    v = sqlite_ws.models.register("thr", ThresholdModel(0.5), input_example={"x": [0.1, 0.9]})
    assert v.flavor == "pyfunc"
    p = sqlite_ws.models.load("thr")
    assert p.predict({"x": [0.2, 0.7, 3.0]}).tolist() == [0, 1, 1]
    double = sqlite_ws.models.register("double", lambda x: np.asarray(x) * 2)
    assert sqlite_ws.models.load(double.ref).predict([1, 2]).tolist() == [2, 4]


def test_unpicklable_model_is_refused_and_nothing_written(sqlite_ws: Any) -> None:
    bad = ThresholdModel(0.5)
    bad.lock = threading.Lock()  # type: ignore[attr-defined]
    with pytest.raises(
        InvalidInput, match=r"cannot serialize the Python function model \(ThresholdModel\)"
    ):
        sqlite_ws.models.register("bad", bad)
    assert sqlite_ws.models.names() == []


def test_unfitted_sklearn_model_is_refused(sqlite_ws: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(InvalidInput, match="is not fitted"):
        sqlite_ws.models.register("raw", LogisticRegression())


def test_unknown_object_and_unknown_flavor(sqlite_ws: Any) -> None:
    with pytest.raises(InvalidInput, match="no model flavor handles it"):
        sqlite_ws.models.register("nothing", object())
    with pytest.raises(InvalidInput, match="unknown model flavor 'keras'"):
        sqlite_ws.models.register("m", ThresholdModel(1), flavor="keras")


def test_custom_flavor_plugs_in(sqlite_ws: Any) -> None:
    class Constant:
        value = 7

    class ConstantFlavor(Flavor):
        name = "constant"

        def matches(self, model: Any) -> bool:
            return isinstance(model, Constant)

        def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
            return SavedModel(str(model.value).encode(), {"v": model.value})

        def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
            n = int(data.decode())
            return LoadedModel(lambda x: np.full(len(x), n))

    register_flavor("constant", ConstantFlavor)
    try:
        v = sqlite_ws.models.register("const", Constant())
        assert v.flavor == "constant"
        assert sqlite_ws.models.load("const").predict([1, 2, 3]).tolist() == [7, 7, 7]
    finally:
        from shipyard.registry.flavors import _registry

        _registry._FLAVORS.pop("constant", None)
        _registry._instances.pop("constant", None)


def test_model_failing_on_its_example_is_refused(sqlite_ws: Any) -> None:
    with pytest.raises(InvalidInput, match="failed on its own input example"):
        sqlite_ws.models.register("boom", ThresholdModel(0.5), input_example={"y": [1.0]})
    assert sqlite_ws.models.names() == []


def test_lightgbm_wrapper_and_native_booster_round_trip(sqlite_ws: Any) -> None:
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    clf = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    v = sqlite_ws.models.register("lgbm", clf, input_example=X[:3])
    assert v.flavor == "lightgbm" and v.flavor_meta["format"] == "sklearn"
    p = sqlite_ws.models.load(v.ref)
    np.testing.assert_allclose(p.predict_proba(X), clf.predict_proba(X))
    booster = clf.booster_
    vb = sqlite_ws.models.register("lgbm-native", booster, input_example=X[:3])
    assert vb.flavor_meta["format"] == "native"
    np.testing.assert_allclose(sqlite_ws.models.load(vb.ref).predict(X), booster.predict(X))


def test_missing_library_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from shipyard.core import MissingExtra
    from shipyard.registry.flavors import _registry

    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch now fails
    monkeypatch.delitem(sys.modules, "shipyard.registry.flavors._pytorch", raising=False)
    monkeypatch.setattr(_registry, "_instances", {})
    with pytest.raises(MissingExtra, match=r"pip install 'shipyard\[torch\]'"):
        _registry.get_flavor("pytorch")


def test_onnx_multi_input_graph_takes_columns_and_dataframes(sqlite_ws: Any) -> None:
    import pandas as pd
    from onnx import TensorProto, helper

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, 1])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, 1])
    out = helper.make_tensor_value_info("sum", TensorProto.FLOAT, [None, 1])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["sum"])], "add", [a, b], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    v = sqlite_ws.models.register("adder", model)
    assert v.signature is not None and v.signature.column_names == ["a", "b"]
    p = sqlite_ws.models.load("adder")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0]})
    assert p.predict(frame).ravel().tolist() == [11.0, 22.0]
    assert p.predict({"a": [1, 2], "b": [3, 4]}).ravel().tolist() == [4.0, 6.0]
    with pytest.raises(InvalidInput, match="missing column 'b'"):
        p.predict({"a": [1.0]})
