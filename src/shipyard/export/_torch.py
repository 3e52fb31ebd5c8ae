"""PyTorch → ONNX with ``torch.onnx.export`` (TorchScript-based exporter), batch axis dynamic.

A classifier version (registered with ``output="logits"`` or ``"probabilities"``) is
exported with its head in the graph: outputs ``label`` (class, mapped through the
version's classes) and ``probabilities`` (softmax), so the ONNX version predicts and
gives probabilities exactly like the PyTorch one.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..registry import Signature, TensorSpec
from ._errors import DataRequired, UnsupportedModel

DEFAULT_OPSET = 17


def convert(
    module: Any,
    meta: dict[str, Any],
    signature: Signature | None,
    example: Any,
    opset: int | None,
    what: str,
) -> tuple[Any, str]:
    import onnx
    import torch

    if example is None:
        raise DataRequired(
            f"cannot export {what} to ONNX: the input shape is unknown (the version has no "
            "signature or input example); pass dataset= with a few rows the model takes",
            details={"problem": "missing data"},
        )
    x = torch.from_numpy(np.ascontiguousarray(_example_array(example, signature)))
    output = meta.get("output", "raw")
    classes = meta.get("classes")
    wrapped = _Head(module, output) if output in ("logits", "probabilities") else module
    names = ["label", "probabilities"] if wrapped is not module else ["output"]
    dynamic = {"input": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    buf = io.BytesIO()
    wrapped.eval()
    try:
        with _quiet(), torch.no_grad():
            torch.onnx.export(
                wrapped,
                (x,),
                buf,  # type: ignore[arg-type]
                dynamo=False,
                input_names=["input"],
                output_names=names,
                dynamic_axes=dynamic,
                opset_version=opset or DEFAULT_OPSET,
            )
    except Exception as exc:
        text = str(exc).strip()
        op = _unsupported_op(text)
        raise UnsupportedModel(
            f"cannot export {what} ({type(module).__qualname__}) to ONNX"
            + (
                f": operator {op} has no ONNX mapping at opset {opset or DEFAULT_OPSET}"
                if op
                else ""
            )
            + f" ({type(exc).__name__}: {text[:300]}); try a newer opset= or replace the "
            "operator in the module",
            details={"operator": op, "module": type(module).__qualname__},
        ) from None
    model = onnx.load_from_string(buf.getvalue())
    if wrapped is not module and classes and list(classes) != list(range(len(classes))):
        model = _map_labels(model, list(classes))
    return model, f"torch.onnx {torch.__version__}"


def _example_array(example: Any, signature: Signature | None) -> np.ndarray:
    arr = np.asarray(example.to_numpy() if hasattr(example, "to_numpy") else example)
    if signature is not None and signature.is_tensor:
        spec = signature.inputs[0]
        assert isinstance(spec, TensorSpec)
        arr = arr.astype(spec.dtype)
        tail = spec.shape[1:]
        if arr.ndim == len(tail) and all(
            d in (-1, a) for d, a in zip(tail, arr.shape, strict=False)
        ):
            arr = arr[None, ...]
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return arr[: max(2, min(len(arr), 4))] if len(arr) else arr


class _Head:
    """Wraps a classifier module: returns (class index, probabilities)."""

    def __new__(cls, module: Any, output: str) -> Any:
        import torch

        class Head(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body = module

            def forward(self, x: Any) -> Any:
                out = self.body(x)
                if isinstance(out, (tuple, list)):
                    out = out[0]
                probs = torch.softmax(out, dim=1) if output == "logits" else out
                return torch.argmax(probs, dim=1), probs

        return Head()


def _map_labels(model: Any, classes: list[Any]) -> Any:
    """Append a LabelEncoder so that ``label`` holds the version's classes, not indices."""
    from onnx import helper

    graph = model.graph
    out = next(o for o in graph.output if o.name == "label")
    for node in graph.node:
        node.output[:] = ["label_index" if n == "label" else n for n in node.output]
    strings = any(isinstance(c, str) for c in classes)
    floats = not strings and any(isinstance(c, float) for c in classes)
    attrs: dict[str, Any] = {"keys_int64s": list(range(len(classes)))}
    if strings:
        attrs["values_strings"] = [str(c) for c in classes]
        elem = 8  # STRING
    elif floats:
        attrs["values_floats"] = [float(c) for c in classes]
        elem = 1
    else:
        attrs["values_int64s"] = [int(c) for c in classes]
        elem = 7
    graph.node.append(
        helper.make_node("LabelEncoder", ["label_index"], ["label"], domain="ai.onnx.ml", **attrs)
    )
    out.type.tensor_type.elem_type = elem
    if not any(o.domain == "ai.onnx.ml" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("ai.onnx.ml", 2))
    return model


def _unsupported_op(text: str) -> str | None:
    import re

    m = re.search(r"[Uu]nsupported:? ONNX export of operator ([\w:.]+)", text) or re.search(
        r"operator ([\w:.]+) to ONNX opset", text
    )
    return m.group(1) if m else None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def count_parameters(module: Any) -> int:
    return int(sum(p.numel() for p in module.parameters()))
