"""Workspace-level routes: health, info, lineage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ..._version import __version__
from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["workspace"])


@router.get("/health")
def health(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Liveness plus a database round trip."""
    ws.db.ping()
    return {"status": "ok", "version": __version__}


@router.get("/info")
def info(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Workspace location, backends, schema revision and object counts."""
    return ws.info()


@router.get("/lineage/{key:path}")
def lineage(
    key: str,
    direction: str = Query("both", pattern="^(up|down|both)$"),
    depth: int = Query(3, ge=0, le=50),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """The lineage graph around an object (``kind:id``), as nodes and edges."""
    if direction == "up":
        g = ws.lineage.upstream(key, depth)
    elif direction == "down":
        g = ws.lineage.downstream(key, depth)
    else:
        g = ws.lineage.graph(key, depth)
    return g.to_dict()


@router.get("/search")
def search(
    q: str = Query(..., min_length=1, description="Name fragment or id prefix"),
    limit: int = Query(50, ge=1, le=500),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Objects of any kind whose name contains *q* or whose id starts with it."""
    return {
        "results": [
            {"kind": n.kind, "id": n.id, "label": n.label, "key": n.key}
            for n in ws.lineage.search(q, limit)
        ]
    }
