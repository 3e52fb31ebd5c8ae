"""Feature store REST routes: views, services, freshness, statistics, materialize, online."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ...core import InvalidInput
from .._deps import get_ws

router = APIRouter(prefix="/api/v1/features", tags=["features"])


class OnlineIn(BaseModel):
    features: list[str] | None = Field(None, description="'view:feature' references")
    feature_service: str | None = Field(None, description="A feature service (name[@version])")
    entities: list[dict[str, Any]] = Field(
        ..., description="Rows of join keys (and request fields)"
    )
    full_feature_names: bool = False


class MaterializeIn(BaseModel):
    start: datetime | None = Field(None, description="Inclusive start; null: the beginning")
    end: datetime = Field(..., description="Exclusive end")
    views: list[str] | None = None
    incremental: bool = False


@router.get("/views")
def list_views(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """The latest version of every feature view."""
    return {"views": [v.to_dict() for v in ws.features.list_views()]}


@router.get("/views/{ref}")
def get_view(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """A feature view version (name, name@version or id) and the list of its versions."""
    v = ws.features.get_view(ref)
    return {
        **v.to_dict(),
        "versions": [x.version for x in ws.features.view_versions(v.name)],
    }


@router.get("/views/{ref}/freshness")
def view_freshness(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Rows, newest event time and its age, and how far the view is materialized."""
    rows = ws.features.freshness(ref)
    if not rows:
        raise InvalidInput(f"{ref} is an on-demand view: it has no stored values")
    return dict(rows[0])


@router.get("/views/{ref}/statistics")
def view_statistics(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Column profiles of the view's features."""
    return dict(ws.features.statistics(ref))


@router.get("/freshness")
def freshness(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Freshness of every batch feature view (for monitoring)."""
    return {"views": ws.features.freshness()}


@router.get("/services")
def list_services(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return {"services": [s.to_dict() for s in ws.features.list_services()]}


@router.get("/services/{ref}")
def get_service(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.features.get_service(ref).to_dict())


@router.post("/materialize")
def materialize(body: MaterializeIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Materialize ``start <= event_time < end`` (or incrementally up to ``end``)."""
    if body.incremental:
        if body.start is not None:
            raise InvalidInput("an incremental materialization takes no start")
        results = ws.features.materialize_incremental(body.end, body.views)
    else:
        results = ws.features.materialize(body.start, body.end, body.views)
    return {
        "materializations": [
            {
                "view": r.view,
                "start": r.start,
                "end": r.end,
                "entities": r.entities,
                "seconds": r.seconds,
                "skipped": r.skipped,
            }
            for r in results
        ]
    }


@router.post("/online")
def online(body: OnlineIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Online feature values with a status per feature (present, not_found, outside_ttl)."""
    if (body.features is None) == (body.feature_service is None):
        raise InvalidInput("pass exactly one of 'features' and 'feature_service'")
    if not body.entities:
        raise InvalidInput("'entities' is empty: pass at least one row of join keys")
    target = body.feature_service if body.feature_service is not None else body.features
    result = ws.features.get_online_features(
        target, body.entities, full_feature_names=body.full_feature_names
    )
    return dict(result.to_dict())
