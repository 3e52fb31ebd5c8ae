"""Errors of export, quantization and distillation; each names the model and the fix."""

from __future__ import annotations

from typing import Any

from ..core import Conflict, InvalidInput


class UnsupportedModel(InvalidInput):
    """No converter handles the model, or one of its estimators or operators."""


class DataRequired(InvalidInput):
    """The operation needs rows of data (for shapes, parity, calibration or a holdout)."""


class ParityFailed(Conflict):
    """The exported model does not reproduce the source's outputs; nothing was registered."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message, details={"report": report})
        self.report = report


class QuantizationRefused(Conflict):
    """The quantized model lost more than the tolerance on the holdout; not registered."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message, details={"report": report})
        self.report = report


class DistillationRefused(Conflict):
    """The student lost more than the tolerance against its teacher; not registered."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message, details={"report": report})
        self.report = report
