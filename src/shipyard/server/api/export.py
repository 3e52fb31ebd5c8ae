"""Export REST routes: export / quantize / .ort a model version, and the stored reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

import shipyard.export as ex

from ...core import InvalidInput
from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["export"])


class ExportIn(BaseModel):
    format: str = Field("onnx", description="onnx or ort (ONNX Runtime Mobile)")
    quantize: str | None = Field(None, description="dynamic, static, fp16 or auto")
    dataset: str | None = Field(None, description="Dataset reference for parity and calibration")
    holdout: str | None = Field(None, description="Dataset reference for the quantization gate")
    target: str | None = Field(None, description="Label column")
    opset: int | None = Field(None, ge=7, le=30)
    tolerance: float = Field(
        0.01, ge=0.0, le=1.0, description="Allowed metric drop (0.01 = 1 point)"
    )
    name: str | None = Field(None, description="Model name of the result (default: the source's)")


def _ref(name: str, selector: str) -> str:
    return f"{name}@{selector}"


@router.post("/models/{name}/versions/{selector}/export", status_code=201)
def export_version(
    name: str, selector: str, body: ExportIn, ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """Export a version to ONNX or .ort (quantized on request), gated; returns the result
    version and its report. A refused gate answers 409 with the report in ``details``."""
    if body.format not in ex.FORMATS:
        raise InvalidInput(
            f"format must be one of {', '.join(ex.FORMATS)}, not {body.format!r}",
            details={"format": body.format},
        )
    src = ws.models.get(_ref(name, selector))
    data = body.dataset if body.dataset is not None else body.holdout
    if body.quantize:
        v = ex.quantize(
            src,
            body.quantize,
            body.dataset,
            body.holdout,
            ws=ws,
            tolerance=body.tolerance,
            target=body.target,
            opset=body.opset,
            name=body.name,
        )
    elif src.flavor in ex.FORMATS:
        v = src
    else:
        v = ex.to_onnx(src, body.opset, data, ws=ws, target=body.target, name=body.name)
    if body.format == "ort":
        v = ex.to_ort(v, data, ws=ws, target=body.target, name=body.name)
    made = [r for r in ex.reports(v, ws=ws, limit=20) if r.result == v.ref]
    return {"version": v.to_dict(), "report": made[0].to_dict() if made else None}


@router.get("/models/{name}/versions/{selector}/export-reports")
def version_reports(
    name: str, selector: str, limit: int = Query(50, ge=1, le=500), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """Reports about this version: the export that made it and exports made from it."""
    ref = _ref(name, selector)
    v = ws.models.get(ref)
    found = ex.reports(v, limit, ws=ws)
    produced_by = next((r for r in found if r.result == v.ref), None)
    return {
        "version": v.ref,
        "produced_by": produced_by.to_dict() if produced_by else None,
        "derived": [r.to_dict() for r in found if r.source == v.ref],
    }


@router.get("/export/reports")
def list_reports(
    model: str | None = Query(None, description="A model version reference"),
    limit: int = Query(50, ge=1, le=500),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Export, quantization and distillation attempts, newest first."""
    return {"reports": [r.to_dict() for r in ex.reports(model, limit, ws=ws)]}


@router.get("/export/reports/{report_id}")
def get_report(report_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """One stored report."""
    return ex.Exports(ws).get_report(report_id).to_dict()
