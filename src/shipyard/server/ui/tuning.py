"""Tuning UI: the list of studies and a study page with Plotly charts.

Pages only read the metadata DB (short read transactions), so opening them never
disturbs a study being optimized; charts load from the JSON plot routes.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from .._deps import get_ws, render

router = APIRouter(include_in_schema=False)
AREA = "tuning"


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else f"{v:.5g}"
    return "" if v is None else str(v)


@router.get("/tuning", response_class=HTMLResponse)
def studies_page(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    return render(
        request,
        "tuning/list.html",
        area=AREA,
        studies=ws.studies.overview(),
        fmt=fmt,
        breadcrumbs=[("Tuning", None)],
    )


@router.get("/tuning/{ref}", response_class=HTMLResponse)
def study_page(ref: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    study = ws.studies.get(ref)
    summary = study.summary()
    trials = study.trials()
    charts = ["history", "importances", "parallel", "slice"]
    if len(study.space.dimensions) >= 2:
        charts.append("contour")
    if study.multi_objective:
        charts = ["pareto", "parallel", "slice"]
    return render(
        request,
        "tuning/study.html",
        area=AREA,
        study=study,
        summary=summary,
        trials=trials,
        charts=charts,
        fmt=fmt,
        breadcrumbs=[("Tuning", "/tuning"), (study.name, None)],
    )
