"""Pipeline pages: pipelines and runs, a run (DAG, timeline, steps), a step run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from .._deps import get_ws, render

router = APIRouter(include_in_schema=False)
AREA = "pipelines"

STATE_COLORS = {
    "pending": "#b8c0cc",
    "running": "#f0ad4e",
    "succeeded": "#3c9d5d",
    "cached": "#4a90d9",
    "failed": "#d9534f",
    "skipped": "#8e6c8a",
    "cancelled": "#6c757d",
}


@router.get("/pipelines", response_class=HTMLResponse)
def pipelines_page(
    request: Request,
    pipeline: str | None = None,
    status: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    return render(
        request,
        "pipelines/index.html",
        area=AREA,
        pipelines=ws.pipelines.names(),
        runs=ws.pipelines.list(pipeline, status=status, limit=limit),
        schedules=ws.pipelines.schedules.list(),
        selected=pipeline,
        breadcrumbs=[("Pipelines", "/pipelines")] + ([(pipeline, None)] if pipeline else []),
    )


def _layout(graph: dict[str, Any]) -> dict[str, list[float]]:
    """Layered positions: x = longest path from a source, y spread within the layer."""
    steps = graph.get("steps", [])
    depth: dict[str, int] = {}
    for s in steps:  # stored in execution order: parents come first
        depth[s["name"]] = 1 + max((depth.get(d, 0) for d in s["deps"]), default=-1)
    layers: dict[int, list[str]] = {}
    for name, d in depth.items():
        layers.setdefault(d, []).append(name)
    pos: dict[str, list[float]] = {}
    for d, names in layers.items():
        for i, name in enumerate(names):
            pos[name] = [float(d), i - (len(names) - 1) / 2]
    return pos


@router.get("/pipelines/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    run = ws.pipelines.get(run_id)
    steps = run.steps
    by_name = {s.name: s for s in steps}
    pos = _layout(run.graph)
    dag = {
        "nodes": [
            {
                "name": s["name"],
                "x": pos[s["name"]][0],
                "y": pos[s["name"]][1],
                "status": by_name[s["name"]].status if s["name"] in by_name else "pending",
                "cached": bool(by_name.get(s["name"]) and by_name[s["name"]].cached),
                "url": f"/pipelines/steps/{by_name[s['name']].id}" if s["name"] in by_name else "",
            }
            for s in run.graph.get("steps", [])
        ],
        "edges": [[d, s["name"]] for s in run.graph.get("steps", []) for d in s["deps"]],
        "colors": STATE_COLORS,
    }
    timeline = [
        {
            "name": s.name,
            "start": s.started_at.isoformat(),
            "end": (s.ended_at or s.started_at).isoformat(),
            "status": s.status,
            "duration": s.duration_s or 0.0,
        }
        for s in steps
        if s.started_at is not None
    ]
    return render(
        request,
        "pipelines/run.html",
        area=AREA,
        run=run,
        steps=steps,
        dag=dag,
        timeline=timeline,
        colors=STATE_COLORS,
        breadcrumbs=[
            ("Pipelines", "/pipelines"),
            (run.pipeline, f"/pipelines?pipeline={run.pipeline}"),
            (run.id, None),
        ],
    )


@router.get("/pipelines/steps/{step_run_id}", response_class=HTMLResponse)
def step_page(step_run_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    step = ws.pipelines.step_run(step_run_id)
    run = ws.pipelines.get(step.run_id)
    ids = {s.name: s.id for s in run.steps}
    return render(
        request,
        "pipelines/step.html",
        area=AREA,
        run=run,
        step=step,
        step_ids=ids,
        logs=ws.pipelines.step_logs(step_run_id),
        colors=STATE_COLORS,
        breadcrumbs=[
            ("Pipelines", "/pipelines"),
            (run.pipeline, f"/pipelines?pipeline={run.pipeline}"),
            (run.id, f"/pipelines/runs/{run.id}"),
            (step.name, None),
        ],
    )
