"""ONNX models, run with ONNX Runtime on the CPU.

Classifier graphs (as skl2onnx writes them) have a label output and a probability
output; the second becomes ``predict_proba``. A ZipMap probability output (a list of
``{class: p}``) is turned back into a matrix in class order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...core import InvalidInput
from ._base import Flavor, LoadedModel, SavedModel, columns_to_matrix

_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
}


class OnnxFlavor(Flavor):
    name = "onnx"
    modules: ClassVar[tuple[str, ...]] = ("onnx",)

    def matches(self, model: Any) -> bool:
        return type(model).__name__ == "ModelProto" and super().matches(model)

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
        data = self.to_bytes(model)
        session = _session(data)
        meta = {
            "inputs": [_io(i) for i in session.get_inputs()],
            "outputs": [_io(o) for o in session.get_outputs()],
            **self.extra_meta(data),
        }
        return SavedModel(data, meta)

    def to_bytes(self, model: Any) -> bytes:
        """The serialized model: bytes, a file path, or an ``onnx.ModelProto``."""
        if isinstance(model, (bytes, bytearray)):
            return bytes(model)
        if isinstance(model, (str, os.PathLike)):
            return Path(model).read_bytes()
        return bytes(model.SerializeToString())

    def extra_meta(self, data: bytes) -> dict[str, Any]:
        return {"opset": _opsets(data)}

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
        session = _session(data, meta.get("runtime_threads"))
        inputs = session.get_inputs()
        out_names = [o.name for o in session.get_outputs()]

        def feed(x: Any) -> dict[str, Any]:
            if len(inputs) == 1:
                spec = inputs[0]
                want = np.dtype(_ONNX_TYPES.get(spec.type, "float32"))
                return {spec.name: columns_to_matrix(x, want)}
            if hasattr(x, "columns") and type(x).__module__.startswith("pandas"):
                x = {str(c): x[c].to_numpy() for c in x.columns}
            if not isinstance(x, dict):
                raise InvalidInput(
                    f"this ONNX model has {len(inputs)} inputs "
                    f"({', '.join(i.name for i in inputs)}); pass named columns"
                )
            fed = {}
            for spec in inputs:
                if spec.name not in x:
                    raise InvalidInput(
                        f"input is missing column {spec.name!r} that the ONNX graph needs",
                        details={"field": spec.name, "problem": "missing"},
                    )
                want = np.dtype(_ONNX_TYPES.get(spec.type, "float32"))
                fed[spec.name] = np.asarray(x[spec.name]).astype(want).reshape(-1, 1)
            return fed

        def run(x: Any) -> list[Any]:
            return list(session.run(out_names, feed(x)))

        first = out_names[:1]

        def predict(x: Any) -> np.ndarray:
            # only the first output: ONNX Runtime then skips what only the others need
            # (a classifier's ZipMap of probabilities, the costliest part of small models)
            return np.asarray(session.run(first, feed(x))[0])

        proba = None
        classes = None
        if len(out_names) >= 2:

            def proba(x: Any) -> np.ndarray:
                return _matrix(run(x)[1])

        return LoadedModel(predict, proba, classes, session)

    def default_signature(self, meta: dict[str, Any]) -> dict[str, Any] | None:
        ins = meta.get("inputs") or []
        outs = [
            {"name": o["name"], "dtype": o["dtype"], "shape": o["shape"]}
            for o in meta.get("outputs") or []
        ]
        if len(ins) == 1:
            i = ins[0]
            return {"type": "tensor", "inputs": [i], "outputs": outs}
        if ins and all(len(i["shape"]) == 2 and i["shape"][1] == 1 for i in ins):
            kinds = {
                "float32": "float",
                "float64": "float",
                "int64": "integer",
                "int32": "integer",
                "bool": "bool",
                "object": "string",
            }
            return {
                "type": "columns",
                "inputs": [
                    {"name": i["name"], "kind": kinds.get(i["dtype"], "any"), "dtype": i["dtype"]}
                    for i in ins
                ],
                "outputs": outs,
            }
        return None


def _session(data: bytes, threads: int | None = None) -> Any:
    import onnxruntime as ort

    try:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads is not None:
            opts.intra_op_num_threads = max(0, int(threads))
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise InvalidInput(
            f"ONNX Runtime cannot load the model: {str(exc).strip()[:300]}; check that it is a "
            "valid ONNX graph (onnx.checker.check_model) with CPU-supported operators",
        ) from None


def _io(node: Any) -> dict[str, Any]:
    shape = [d if isinstance(d, int) else -1 for d in (node.shape or [])]
    return {"name": node.name, "dtype": _ONNX_TYPES.get(node.type, node.type), "shape": shape}


def _opsets(data: bytes) -> dict[str, int]:
    import onnx

    m = onnx.load_from_string(data)
    return {o.domain or "ai.onnx": int(o.version) for o in m.opset_import}


def _matrix(value: Any) -> np.ndarray:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        keys = sorted(value[0])
        return np.asarray([[row[k] for k in keys] for row in value], dtype=np.float64)
    return np.asarray(value)
