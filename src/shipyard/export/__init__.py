"""Export for fast and small inference: ONNX, quantization, distillation, mobile format.

>>> onnx_v = sy.export.to_onnx("churn@5", dataset="churn@2", ws=ws)       # parity-checked
>>> q = sy.export.quantize(onnx_v, "auto", dataset="churn@2", ws=ws)      # gated on a holdout
>>> sy.export.report(q, ws=ws).report["size"]                             # before / after
>>> small = sy.export.distill(teacher="digits-cnn@3", student=Tiny(), dataset="digits@2", ws=ws)
>>> sy.export.to_ort(q, path="model.ort", ws=ws)                          # ONNX Runtime Mobile

Every result is a registered model version with a lineage edge to its source
(``exported_from``, ``quantized_from``, ``distilled_from``, ``converted_from``) and a
stored report (:class:`ExportReport`): parity, file size, in-process latency p50/p95
at batch 1 and 32, and the metric before and after. Gates refuse a result that does
not match its source; refused attempts keep their report too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import ModelVersion, register_flavor
from ._errors import (
    DataRequired,
    DistillationRefused,
    ParityFailed,
    QuantizationRefused,
    UnsupportedModel,
)
from ._quantize import METHODS
from ._service import CONVERTIBLE, FORMATS, ExportReport, Exports, service

register_flavor("ort", "shipyard.export._ort_flavor:OrtFlavor", first=False)

__all__ = [
    "CONVERTIBLE",
    "FORMATS",
    "METHODS",
    "DataRequired",
    "DistillationRefused",
    "ExportReport",
    "Exports",
    "ParityFailed",
    "QuantizationRefused",
    "UnsupportedModel",
    "distill",
    "quantize",
    "report",
    "reports",
    "save",
    "to_onnx",
    "to_ort",
]


def to_onnx(
    ref: Any, opset: int | None = None, dataset: Any = None, ws: Any = None, **options: Any
) -> ModelVersion:
    """Export version *ref* to ONNX; see :meth:`Exports.to_onnx`."""
    return service(ws).to_onnx(ref, opset, dataset, **options)


def quantize(
    ref: Any,
    strategy: str = "auto",
    dataset: Any = None,
    holdout: Any = None,
    ws: Any = None,
    **options: Any,
) -> ModelVersion:
    """Quantize version *ref* (exported to ONNX first if needed); see :meth:`Exports.quantize`."""
    return service(ws).quantize(ref, strategy, dataset, holdout, **options)


def to_ort(ref: Any, dataset: Any = None, ws: Any = None, **options: Any) -> ModelVersion:
    """Write version *ref* in the ``.ort`` mobile format; see :meth:`Exports.to_ort`."""
    return service(ws).to_ort(ref, dataset, **options)


def distill(
    teacher: Any,
    student: Any,
    dataset: Any,
    temperature: float = 4.0,
    alpha: float = 0.7,
    epochs: int = 10,
    ws: Any = None,
    **options: Any,
) -> ModelVersion:
    """Train *student* (a torch module or scikit-learn estimator) on *teacher*'s soft labels.

    Tracked as a run (experiment ``distillation``), registered as ``<teacher>-student``
    (or ``name=``) with lineage ``distilled_from``; the report compares parameters, size,
    latency and accuracy with the teacher. Options: ``batch_size``, ``lr``, ``holdout``
    (default: 20% of *dataset*), ``target``, ``name``, ``tolerance`` (refuse a student
    more than this below the teacher), ``sklearn_targets`` (``soft`` or ``hard``), ``seed``.
    """
    from ._distill import distill as _distill

    return _distill(
        service(ws),
        teacher,
        student,
        dataset,
        temperature=temperature,
        alpha=alpha,
        epochs=epochs,
        **options,
    )


def reports(ref: Any = None, limit: int = 50, ws: Any = None) -> list[ExportReport]:
    """Stored reports about version *ref* (as source or result), newest first."""
    return service(ws).reports(ref, limit)


def report(ref: Any, ws: Any = None) -> ExportReport:
    """The report of the export, quantization or distillation that produced *ref*."""
    return service(ws).report(ref)


def save(ref: Any, path: str | Path, ws: Any = None) -> Path:
    """Write the stored model file of version *ref* (``.onnx``, ``.ort``…) to *path*."""
    return service(ws).save(ref, path)
