"""Tuning REST routes (read-only): studies, trials, importances, plots."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Query

from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["tuning"])


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@router.get("/studies")
def list_studies(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Every study with trial counts and its best value."""
    return {"studies": _clean(ws.studies.overview())}


@router.get("/studies/{ref}")
def get_study(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Settings, counts, best trial (or Pareto front) and importances."""
    return dict(_clean(ws.studies.get(ref).summary()))


@router.get("/studies/{ref}/trials")
def list_trials(
    ref: str, state: str | None = Query(None), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """Every trial by number (optionally of one state)."""
    return {"trials": _clean([t.to_dict() for t in ws.studies.get(ref).trials(state)])}


@router.get("/studies/{ref}/importances")
def importances(ref: str, metric: str | None = None, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """fANOVA parameter importances, largest first."""
    return {"importances": ws.studies.get(ref).importances(metric)}


@router.get("/studies/{ref}/plots/{kind}")
def plot(ref: str, kind: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """A Plotly figure: history, importances, parallel, slice, contour or pareto."""
    return dict(ws.studies.get(ref).plot(kind))
