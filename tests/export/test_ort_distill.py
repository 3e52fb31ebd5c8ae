"""The mobile .ort format and knowledge distillation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import shipyard as sy
from shipyard.export import DistillationRefused


def test_ort_file_loads_and_predicts_the_same(
    sqlite_ws: Any, cnn: Any, digits: dict[str, Any], tmp_path: Path
) -> None:
    import onnxruntime as ort

    ws = sqlite_ws
    Xte, yte = digits["test"]
    ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xte[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    out = tmp_path / "digits.ort"
    m = sy.export.to_ort("digits-cnn", dataset=(Xte, yte), path=out, ws=ws)
    assert m.flavor == "ort" and m.tags["format"] == "ort"
    onnx_v = ws.models.get("digits-cnn@2")
    assert onnx_v.flavor == "onnx"  # exported first, then converted
    assert out.read_bytes()[4:8] == b"ORTM" and out.read_bytes() == ws.models.model_bytes(m)
    # a plain ONNX Runtime session reads the file and agrees with the ONNX model
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    label, probs = sess.run(None, {"input": Xte[:50]})
    ref = ws.models.load(onnx_v).predict_proba(Xte[:50])
    np.testing.assert_allclose(probs, ref, atol=1e-5)
    assert (label == ref.argmax(1)).all()
    # and through the registry, with the signature enforced
    assert (ws.models.load(m).predict(Xte[:50]) == label).all()
    rep = sy.export.report(m, ws=ws).report
    assert rep["parity"]["passed"] and rep["parity"]["label_agreement"] == 1.0
    g = ws.lineage.upstream(m.lineage_node)
    assert {e.relation for e in g.edges} >= {"converted_from", "exported_from"}
    with pytest.raises(
        sy.InvalidInput, match=r"in the mobile .ort format, which cannot be quantized"
    ):
        sy.export.quantize(m, "dynamic", dataset=(Xte, yte), ws=ws)


def test_distill_cnn_into_a_small_torch_student(
    sqlite_ws: Any, cnn: Any, digits: dict[str, Any]
) -> None:
    import torch

    from tests.export._models import TinyMLP

    ws = sqlite_ws
    Xtr, ytr = digits["train"]
    teacher = ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xtr[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    torch.manual_seed(0)
    student = sy.export.distill(
        teacher="digits-cnn@1",
        student=TinyMLP(64, 32, 10),
        dataset=(Xtr, ytr),
        holdout=digits["test"],
        temperature=3.0,
        alpha=0.7,
        epochs=12,
        lr=3e-3,
        ws=ws,
    )
    assert student.ref == "digits-cnn-student@1" and student.flavor == "pytorch"
    rep = sy.export.report(student, ws=ws).report
    assert rep["operation"] == "distill" and rep["source"] == "digits-cnn@1"
    p = rep["parameters"]
    assert p["student"] == sum(x.numel() for x in TinyMLP(64, 32, 10).parameters())
    assert p["teacher"] == sum(x.numel() for x in cnn.parameters()) and p["ratio"] > 1
    assert rep["metric"]["after"] > 0.8  # learns the task from the teacher
    assert set(rep["latency"]["after"]) == {"batch_1", "batch_32"}
    assert rep["size"]["after"] == student.size_bytes
    # tracked as a run that produced the student, with the loss per epoch
    run = ws.runs.get(rep["run_id"])
    assert run.params["temperature"] in (3.0, "3.0") and run.status == "finished"
    loss = run.history("distill_loss")
    assert len(loss) == 12 and loss.value[-1] < loss.value[0]
    assert run.metrics["student_accuracy"] == pytest.approx(rep["metric"]["after"])
    relations = {
        (e.relation, e.src) for e in ws.lineage.upstream(student.lineage_node, depth=1).edges
    }
    assert ("distilled_from", teacher.lineage_node.key) in relations
    assert ("produced", run.lineage_node.key) in relations
    # the student predicts classes through the registry, like its teacher
    pred = ws.models.load(student)
    Xte, yte = digits["test"]
    assert np.mean(pred.predict(Xte) == yte) == pytest.approx(rep["metric"]["after"])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_distill_into_sklearn_student_with_soft_labels(
    sqlite_ws: Any, cnn: Any, digits: dict[str, Any]
) -> None:
    from sklearn.linear_model import LogisticRegression

    ws = sqlite_ws
    Xtr, ytr = digits["train"]
    ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xtr[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    student = sy.export.distill(
        "digits-cnn",
        LogisticRegression(max_iter=60, tol=1e-3),
        (Xtr[:500], ytr[:500]),
        name="digits-linear",
        ws=ws,
        benchmark=False,
    )
    rep = sy.export.report(student, ws=ws).report
    assert student.flavor == "sklearn" and rep["metric"]["after"] > 0.85
    assert rep["parameters"]["student"] == 64 * 10 + 10
    assert "20% held out" in rep["metric"]["data"]
    Xflat = digits["flat_test"][0]
    assert ws.models.load(student).predict(Xflat[:5]).shape == (5,)


def test_distillation_gate_and_bad_inputs(sqlite_ws: Any, cnn: Any, digits: dict[str, Any]) -> None:
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LinearRegression

    ws = sqlite_ws
    Xtr, ytr = digits["train"]
    ws.models.register(
        "digits-cnn",
        cnn,
        input_example=Xtr[:4],
        flavor_options={"output": "logits", "classes": list(range(10))},
    )
    with pytest.raises(DistillationRefused) as err:
        sy.export.distill("digits-cnn", DummyClassifier(), (Xtr, ytr), tolerance=0.02, ws=ws)
    assert "the student distilled from digits-cnn@1 was not registered" in str(err.value)
    assert "digits-cnn-student" not in ws.models.names()
    with pytest.raises(sy.InvalidInput, match=r"cannot distill into a str: the student must be"):
        sy.export.distill("digits-cnn", "tiny", (Xtr, ytr), ws=ws)
    with pytest.raises(sy.InvalidInput, match=r"temperature must be > 0"):
        sy.export.distill("digits-cnn", LinearRegression(), (Xtr, ytr), temperature=0, ws=ws)
    raw = ws.models.register("raw-net", cnn, input_example=Xtr[:2])
    with pytest.raises(sy.InvalidInput, match=r"cannot distill raw-net@1: it gives no class"):
        sy.export.distill(raw, DummyClassifier(), (Xtr, ytr), ws=ws)
    with pytest.raises(sy.export.DataRequired, match=r"to distill digits-cnn@1: pass dataset="):
        sy.export.distill("digits-cnn", DummyClassifier(), None, ws=ws)
