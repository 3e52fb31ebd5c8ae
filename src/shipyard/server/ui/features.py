"""Feature store pages: views (schema, statistics, freshness, lineage, consumers), services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...core import ShipyardError
from .._deps import get_ws, render
from .._links import object_url

router = APIRouter(include_in_schema=False)
AREA = "features"


def _graph(ws: Any, node: Any) -> dict[str, Any]:
    graph: dict[str, Any] = ws.lineage.graph(node, depth=3).to_dict()
    for n in graph["nodes"]:
        n["url"] = object_url(n["kind"], n["id"])
    return graph


@router.get("/features", response_class=HTMLResponse)
def features_home(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    fs = ws.features
    views = fs.list_views()
    fresh = {f["view_id"]: f for f in fs.freshness()} if views else {}
    return render(
        request,
        "features/index.html",
        area=AREA,
        views=views,
        fresh=fresh,
        services=fs.list_services(),
        online=fs.online_store_info(),
        breadcrumbs=[("Home", "/"), ("Features", None)],
    )


@router.get("/features/services/{ref}", response_class=HTMLResponse)
def service_page(ref: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    svc = ws.features.get_service(ref)
    versions = [s for s in ws.features.registry.services(all_versions=True) if s.name == svc.name]
    return render(
        request,
        "features/service.html",
        area=AREA,
        svc=svc,
        versions=versions,
        graph=_graph(ws, svc),
        breadcrumbs=[("Home", "/"), ("Features", "/features"), (svc.ref, None)],
    )


@router.get("/features/{ref}", response_class=HTMLResponse)
def view_page(ref: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    fs = ws.features
    view = fs.get_view(ref)
    stats: dict[str, Any] | None = None
    stats_error = None
    fresh = None
    if view.kind == "batch":
        try:
            stats = fs.statistics(view.id)
            fresh = fs.freshness(view.id)[0]
        except ShipyardError as exc:
            stats_error = exc.message
    services = [
        s for s in fs.list_services() if any(f.startswith(view.ref + ":") for f in s.features)
    ]
    consumers = [
        {"kind": n.kind, "label": n.label, "url": object_url(n.kind, n.id)}
        for n in fs.consumers(view.id)
    ]
    return render(
        request,
        "features/view.html",
        area=AREA,
        view=view,
        stats=stats,
        stats_error=stats_error,
        fresh=fresh,
        versions=fs.view_versions(view.name),
        materializations=fs.materializations(view.id),
        services=services,
        consumers=consumers,
        graph=_graph(ws, view),
        breadcrumbs=[("Home", "/"), ("Features", "/features"), (view.ref, None)],
    )
