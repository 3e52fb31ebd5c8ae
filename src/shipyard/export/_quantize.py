"""Quantization with ONNX Runtime: dynamic int8, static int8 (QDQ, calibrated), float16.

``auto`` picks static int8 for convolutional graphs (activations calibrated on data
rows pay off there) and dynamic int8 for linear / MLP / transformer graphs (weights
int8, activations quantized on the fly). Each function takes and returns ONNX bytes.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..core import InvalidInput, MissingExtra
from ._errors import DataRequired, UnsupportedModel

METHODS = ("dynamic", "static", "fp16", "auto")
_CONV = {"Conv", "ConvTranspose"}
_QUANT_OPS = {
    "QuantizeLinear",
    "DynamicQuantizeLinear",
    "MatMulInteger",
    "ConvInteger",
    "QLinearConv",
    "QLinearMatMul",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
}
_WEIGHT_OPS = ["Conv", "ConvTranspose", "Gemm", "MatMul"]
_QUANTIZABLE = {*_WEIGHT_OPS, "Attention", "LSTM", "GRU"}
_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": object,
    "tensor(bool)": np.bool_,
    "tensor(float16)": np.float16,
}


def op_types(data: bytes) -> set[str]:
    import onnx

    return {n.op_type for n in onnx.load_from_string(data).graph.node}


def is_convolutional(data: bytes) -> bool:
    return bool(op_types(data) & _CONV)


def resolve_method(method: str, data: bytes) -> str:
    if method not in METHODS:
        raise InvalidInput(
            f"unknown quantization {method!r}; use one of {', '.join(METHODS)}",
            details={"quantize": method},
        )
    if method == "auto":
        return "static" if is_convolutional(data) else "dynamic"
    return method


def quantize(
    data: bytes, method: str, calibration: list[dict[str, Any]] | None, what: str
) -> bytes:
    """Quantize ONNX *data* with a resolved *method* ('dynamic', 'static', 'fp16')."""
    if method == "fp16":
        out = _fp16(data)
        if not _has_fp16(out):
            raise _nothing(what, method)
        return out
    if not (op_types(data) & _QUANTIZABLE):
        raise _nothing(what, method)
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    with tempfile.TemporaryDirectory(prefix="shipyard-quant-") as tmp:
        src, pre, dst = Path(tmp, "model.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "q.onnx")
        src.write_bytes(data)
        model_in = _preprocess(src, pre)
        try:
            if method == "dynamic":
                quantize_dynamic(
                    model_in,
                    dst,
                    weight_type=QuantType.QInt8,
                    per_channel=False,
                    op_types_to_quantize=["MatMul", "Gemm", "Conv", "Attention", "LSTM", "GRU"],
                    extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1},
                )
            else:
                if not calibration:
                    raise DataRequired(
                        f"static int8 quantization of {what} calibrates activations on data "
                        "rows; pass dataset= (a dataset reference or arrays), or use "
                        "quantize='dynamic'",
                        details={"problem": "missing calibration data"},
                    )
                quantize_static(
                    model_in,
                    dst,
                    _Reader(calibration),
                    quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8,
                    op_types_to_quantize=_WEIGHT_OPS,
                    extra_options={
                        "ActivationSymmetric": False,
                        "WeightSymmetric": True,
                        "DefaultTensorType": 1,  # float, for tensors of ai.onnx.ml ops
                    },
                )
        except (DataRequired, UnsupportedModel):
            raise
        except Exception as exc:
            raise UnsupportedModel(
                f"ONNX Runtime could not quantize {what} ({method}): {type(exc).__name__}: "
                f"{str(exc).strip()[:300]}; try another method (dynamic, static, fp16)",
                details={"method": method},
            ) from None
        out = dst.read_bytes()
    if not (op_types(out) & _QUANT_OPS):
        raise _nothing(what, method)
    return out


def _nothing(what: str, method: str) -> UnsupportedModel:
    return UnsupportedModel(
        f"{method} quantization leaves {what} unchanged: its graph has no operators "
        "ONNX Runtime quantizes (Conv, MatMul, Gemm, attention, recurrent layers; tree "
        "ensembles have none); keep the float model",
        details={"method": method},
    )


def _preprocess(src: Path, dst: Path) -> Path:
    """Shape inference + graph optimization ORT recommends before quantizing (best effort)."""
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
        return dst
    except Exception:
        return src


class _Reader:
    """A CalibrationDataReader over prepared feeds."""

    def __init__(self, feeds: list[dict[str, Any]]) -> None:
        self._feeds = feeds
        self._it: Iterator[dict[str, Any]] = iter(feeds)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._feeds)


def feeds(data: bytes, prepared: Any, batch: int = 16) -> list[dict[str, Any]]:
    """Split prepared inputs (array or dict of columns) into ORT feed dicts."""
    import onnxruntime as ort

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    out = []
    n = len(next(iter(prepared.values()))) if isinstance(prepared, dict) else len(prepared)
    for i in range(0, n, batch):
        sl = slice(i, i + batch)
        out.append(feed(inputs, prepared, sl))
    return out


def feed(inputs: list[Any], prepared: Any, sl: slice = slice(None)) -> dict[str, Any]:
    if len(inputs) == 1:
        spec = inputs[0]
        if isinstance(prepared, dict):
            arr = np.column_stack([np.asarray(v)[sl] for v in prepared.values()])
        else:
            arr = np.asarray(prepared)[sl]
        return {spec.name: arr.astype(_ONNX_DTYPES.get(spec.type, np.float32))}
    return {
        s.name: np.asarray(prepared[s.name])[sl]
        .astype(_ONNX_DTYPES.get(s.type, np.float32))
        .reshape(-1, 1)
        for s in inputs
    }


def _fp16(data: bytes) -> bytes:
    import onnx

    try:
        from onnxconverter_common import float16
    except ImportError:
        raise MissingExtra("float16 conversion", "export", "onnxconverter-common") from None
    model = onnx.load_from_string(data)
    return bytes(float16.convert_float_to_float16(model, keep_io_types=True).SerializeToString())


def _has_fp16(data: bytes) -> bool:
    import onnx

    model = onnx.load_from_string(data)
    return any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)


@contextlib.contextmanager
def _silent() -> Iterator[None]:
    """The converter prints progress and logs at INFO; keep that out of users' output."""
    logger = logging.getLogger("ort_format_model.utils")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def to_ort(data: bytes) -> bytes:
    """The ONNX Runtime Mobile ``.ort`` form of ONNX *data* (fixed optimizations)."""
    from onnxruntime.tools.convert_onnx_models_to_ort import (
        OptimizationStyle,
        convert_onnx_models_to_ort,
    )

    from ._torch import _quiet

    with tempfile.TemporaryDirectory(prefix="shipyard-ort-") as tmp:
        src = Path(tmp, "model.onnx")
        src.write_bytes(data)
        out_dir = Path(tmp, "out")
        try:
            with _quiet(), _silent():
                convert_onnx_models_to_ort(
                    src, output_dir=out_dir, optimization_styles=[OptimizationStyle.Fixed]
                )
        except Exception as exc:
            raise UnsupportedModel(
                f"ONNX Runtime could not write the .ort format: {type(exc).__name__}: "
                f"{str(exc).strip()[:300]}",
            ) from None
        files = sorted(out_dir.glob("*.ort"))
        if not files:
            raise UnsupportedModel("ONNX Runtime wrote no .ort file for this model")
        return files[0].read_bytes()
