"""Monitoring REST routes: monitors, checks, alerts, labels, health, figures, reports."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import HTMLResponse

from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["monitoring"])


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@router.get("/monitors")
def list_monitors(model: str | None = Query(None), ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Every monitor."""
    return {"monitors": [m.to_dict() for m in ws.monitors.list(model)]}


@router.post("/monitors", status_code=201)
def create_monitor(body: dict[str, Any] = Body(...), ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """``{name, model, reference?, columns?, window?, schedule?, rules?, notifiers?, …}``."""
    from ...core import InvalidInput

    body = dict(body)
    try:
        name, model = body.pop("name"), body.pop("model")
    except KeyError as exc:
        raise InvalidInput(f"a monitor needs {exc.args[0]!r}") from None
    allowed = {
        "reference",
        "columns",
        "window",
        "schedule",
        "version",
        "deployment",
        "tests",
        "thresholds",
        "drift_share",
        "rules",
        "notifiers",
        "cooldown",
        "target",
        "server_url",
    }
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}; fields: name, model, {', '.join(sorted(allowed))}"
        )
    return dict(ws.monitors.create(name, model, **body).to_dict())


@router.get("/monitors/{name}")
def get_monitor(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """The monitor, its last check and its firing alerts."""
    return dict(_plain(ws.monitors.status(name)))


@router.delete("/monitors/{name}", status_code=204)
def delete_monitor(name: str, ws: Any = Depends(get_ws)) -> None:
    ws.monitors.delete(name)


@router.post("/monitors/{name}/run")
def run_monitor(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Check the latest window now."""
    return dict(_plain(ws.monitors.run(name)))


@router.get("/monitors/{name}/checks")
def checks(
    name: str, limit: int = Query(100, le=1000), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    return {"checks": _plain(ws.monitors.checks(name, limit))}


@router.get("/monitors/{name}/alerts")
def monitor_alerts(
    name: str, state: str | None = Query(None), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    return {"alerts": ws.monitors.alerts(name, state=state)}


@router.get("/alerts")
def all_alerts(state: str | None = Query(None), ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return {"alerts": ws.monitors.alerts(None, state=state)}


@router.post("/monitors/{name}/labels")
def labels(
    name: str, body: dict[str, Any] = Body(...), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """``{request_ids: [...], labels: [...], rows?: [...]}``."""
    n = ws.monitors.log_labels(
        name, list(body.get("request_ids") or []), list(body.get("labels") or []), body.get("rows")
    )
    return {"logged": n}


@router.get("/monitors/{name}/performance")
def performance(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(_plain(ws.monitors.performance(name)))


@router.get("/monitors/{name}/health")
def health(name: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return {"health": _plain(ws.monitors.health(name))}


@router.get("/monitors/{name}/figures")
def figures(
    name: str, column: str | None = Query(None), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """Every dashboard figure (Plotly JSON) keyed by name."""
    from ...monitoring import figures as make

    return {k: json.loads(f.to_json()) for k, f in make(ws, name, column).items()}


@router.get("/monitors/{name}/report", response_class=HTMLResponse)
def report(name: str, ws: Any = Depends(get_ws)) -> HTMLResponse:
    """The standalone HTML drift report of the latest check."""
    from ...monitoring import drift_report_html

    return HTMLResponse(
        drift_report_html(ws, name),
        headers={"content-disposition": f'attachment; filename="drift-{name}.html"'},
    )
