"""Monitoring UI: the list of monitors and a dashboard per monitor (Plotly)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from .._deps import get_ws, render

router = APIRouter(include_in_schema=False)
AREA = "monitoring"


def fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


CHARTS = ("drift", "histogram", "prediction", "performance", "latency", "errors", "rate")


@router.get("/monitoring", response_class=HTMLResponse)
def monitors_page(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    rows = []
    monitors = ws.monitors.list()
    for m in monitors:
        last = ws.monitors.checks(m.name, 1)
        firing = ws.monitors.alerts(m.name, state="firing")
        rows.append((m, last[0] if last else None, len(firing)))
    return render(
        request,
        "monitoring/list.html",
        area=AREA,
        fmt=fmt,
        rows=rows,
        alerts=ws.monitors.alerts(None, limit=50),
        monitors={m.id: m for m in monitors},
        breadcrumbs=[("Monitoring", None)],
    )


@router.get("/monitoring/{ref}", response_class=HTMLResponse)
def monitor_page(
    ref: str, request: Request, column: str | None = None, ws: Any = Depends(get_ws)
) -> HTMLResponse:
    m = ws.monitors.get(ref)
    last = ws.monitors.checks(m.name, 1)
    return render(
        request,
        "monitoring/monitor.html",
        area=AREA,
        fmt=fmt,
        m=m,
        last=last[0] if last else None,
        alerts=ws.monitors.alerts(m.name, limit=100),
        monitors={m.id: m},
        charts=CHARTS,
        column=column or "",
        breadcrumbs=[("Monitoring", "/monitoring"), (m.name, None)],
    )
