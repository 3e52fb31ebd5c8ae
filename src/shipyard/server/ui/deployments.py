"""Deployments UI: model servers with status, and live request rate and latency.

``/deployments`` lists every recorded deployment; ``/deployments/{id}`` shows one.
The pages poll ``/deployments/live.json``, which reads each running server's
``/metrics`` (cumulative counters); the browser turns deltas into request rate and
mean latency and plots them with Plotly.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from .._deps import get_ws, render

router = APIRouter(include_in_schema=False)
AREA = "deployments"


def scrape(url: str, timeout: float = 0.5) -> dict[str, Any]:
    """Totals from a server's /metrics: requests, errors, latency sum/count, queue."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(url.rstrip("/") + "/metrics", timeout=timeout).text
    except httpx.HTTPError as exc:
        return {"up": False, "error": f"{type(exc).__name__}: {exc}"}
    out: dict[str, Any] = {
        "up": True,
        "requests": 0.0,
        "errors": 0.0,
        "rejected": 0.0,
        "latency_sum": 0.0,
        "latency_count": 0.0,
        "queue": 0.0,
    }
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "shipyard_requests_total":
                out["requests"] += s.value
                if not str(s.labels.get("code", "")).startswith("2"):
                    out["errors"] += s.value
            elif s.name == "shipyard_request_duration_seconds_sum":
                out["latency_sum"] += s.value
            elif s.name == "shipyard_request_duration_seconds_count":
                out["latency_count"] += s.value
            elif s.name == "shipyard_rejected_total":
                out["rejected"] += s.value
            elif s.name == "shipyard_queue_depth":
                out["queue"] += s.value
    return out


@router.get("/deployments", response_class=HTMLResponse)
def deployments_page(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    deps = ws.deployments.list()
    return render(
        request,
        "deployments/list.html",
        area=AREA,
        deps=deps,
        one=None,
        breadcrumbs=[("Deployments", None)],
    )


@router.get("/deployments/live.json")
def live(ids: str = "", ws: Any = Depends(get_ws)) -> JSONResponse:
    wanted = {i for i in ids.split(",") if i}
    out = {}
    for d in ws.deployments.list(status="running"):
        if (wanted and d.id not in wanted) or not d.url:
            continue
        out[d.id] = {"name": d.name, **scrape(d.url)}
    return JSONResponse({"t": time.time(), "deployments": out})


@router.get("/deployments/{dep_id}", response_class=HTMLResponse)
def deployment_page(dep_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    d = ws.deployments.get(dep_id)
    return render(
        request,
        "deployments/list.html",
        area=AREA,
        deps=[d],
        one=d,
        breadcrumbs=[("Deployments", "/deployments"), (d.name, None)],
    )
