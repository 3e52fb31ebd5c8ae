"""The ``ort`` model flavor: ONNX Runtime Mobile's ``.ort`` format, run with ONNX Runtime.

Registered on the registry's flavor table when :mod:`shipyard.export` is imported. It is
never picked by detection (``.ort`` files are bytes, not objects): export registers
``.ort`` versions with ``flavor="ort"``. Outputs follow the ONNX convention: the first
is the prediction, a second one the class probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import InvalidInput
from ..registry import Flavor, LoadedModel, SavedModel
from ._quantize import feed

_KINDS = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(string)": "object",
    "tensor(bool)": "bool",
}


class OrtFlavor(Flavor):
    name = "ort"
    modules = ()

    def matches(self, model: Any) -> bool:
        return False

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:
        if not isinstance(model, (bytes, bytearray)):
            raise InvalidInput("the ort flavor stores .ort bytes; pass the file's bytes")
        data = bytes(model)
        session = _session(data)
        meta = {
            "inputs": [_io(i) for i in session.get_inputs()],
            "outputs": [_io(o) for o in session.get_outputs()],
            "format": "ort",
        }
        return SavedModel(data, meta)

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:
        session = _session(data)
        inputs = session.get_inputs()
        names = [o.name for o in session.get_outputs()]

        def run(x: Any) -> list[Any]:
            if len(inputs) > 1 and not isinstance(x, dict):
                raise InvalidInput(
                    f"this model has {len(inputs)} inputs "
                    f"({', '.join(i.name for i in inputs)}); pass named columns"
                )
            return list(session.run(names, feed(inputs, x)))

        proba = None
        if len(names) >= 2:

            def proba(x: Any) -> np.ndarray:
                return np.asarray(run(x)[1])

        return LoadedModel(lambda x: np.asarray(run(x)[0]), proba, None, session)

    def default_signature(self, meta: dict[str, Any]) -> dict[str, Any] | None:
        ins = meta.get("inputs") or []
        if len(ins) == 1:
            return {"type": "tensor", "inputs": ins, "outputs": meta.get("outputs") or []}
        return None


def _session(data: bytes) -> Any:
    import onnxruntime as ort

    try:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise InvalidInput(
            f"ONNX Runtime cannot load the .ort model: {str(exc).strip()[:300]}"
        ) from None


def _io(node: Any) -> dict[str, Any]:
    shape = [d if isinstance(d, int) else -1 for d in (node.shape or [])]
    return {"name": node.name, "dtype": _KINDS.get(node.type, node.type), "shape": shape}
