"""The home page (workspace counts) and the lineage page of any object."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from .._deps import get_ws, render
from .._links import object_url
from .._nav import AREAS

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    return render(
        request, "home.html", info=ws.info(), areas=AREAS, available=request.app.state.ui_areas
    )


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = "", ws: Any = Depends(get_ws)) -> HTMLResponse:
    results = [
        {"kind": n.kind, "id": n.id, "label": n.label, "url": object_url(n.kind, n.id)}
        for n in ws.lineage.search(q, limit=100)
    ]
    return render(
        request,
        "search.html",
        q=q,
        results=results,
        breadcrumbs=[("Home", "/"), (f"Search: {q}", None)],
    )


@router.get("/lineage/{key:path}", response_class=HTMLResponse)
def lineage_page(key: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    graph = ws.lineage.graph(key, depth=4).to_dict()
    for node in graph["nodes"]:
        node["url"] = object_url(node["kind"], node["id"])
    return render(
        request,
        "lineage.html",
        graph=graph,
        key=key,
        breadcrumbs=[("Home", "/"), (f"Lineage of {key}", None)],
    )
