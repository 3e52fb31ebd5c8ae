"""Pipeline runs, step runs, schedules and jobs over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["pipelines"])


class RunRequest(BaseModel):
    target: str = Field(..., description="FILE.py:PIPELINE or module:PIPELINE")
    params: dict[str, Any] = Field(default_factory=dict)
    executor: str = "local"


class ScheduleRequest(BaseModel):
    target: str
    cron: str
    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    executor: str = "local"
    catchup: str = "latest"


@router.get("/pipelines")
def pipelines(ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    """Each pipeline with its run count and last run."""
    return [
        {**p, "last_at": p["last_at"].isoformat() if p["last_at"] else None}
        for p in ws.pipelines.names()
    ]


@router.get("/pipelines/runs")
def runs(
    pipeline: str | None = None,
    status: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    ws: Any = Depends(get_ws),
) -> list[dict[str, Any]]:
    """Pipeline runs, newest first."""
    return [r.to_dict(steps=False) for r in ws.pipelines.list(pipeline, status=status, limit=limit)]


@router.post("/pipelines/runs", status_code=201)
def start_run(body: RunRequest, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Run a pipeline to completion and return its record."""
    run = ws.pipelines.run(body.target, params=body.params, executor=body.executor)
    return dict(run.to_dict())


@router.get("/pipelines/runs/{run_id}")
def get_run(run_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """A run with its graph and step records."""
    return dict(ws.pipelines.get(run_id).to_dict())


@router.post("/pipelines/runs/{run_id}/resume")
def resume_run(run_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Re-run only the steps that did not finish."""
    return dict(ws.pipelines.resume(run_id).to_dict())


@router.get("/pipelines/steps/{step_run_id}")
def get_step(step_run_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.pipelines.step_run(step_run_id).to_dict())


@router.get("/pipelines/steps/{step_run_id}/logs", response_class=PlainTextResponse)
def step_logs(step_run_id: str, ws: Any = Depends(get_ws)) -> str:
    return str(ws.pipelines.step_logs(step_run_id))


@router.get("/pipelines/schedules")
def schedules(ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in s.items()}
        for s in ws.pipelines.schedules.list()
    ]


@router.post("/pipelines/schedules", status_code=201)
def add_schedule(body: ScheduleRequest, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    s = ws.pipelines.schedules.add(
        body.target,
        body.cron,
        name=body.name,
        params=body.params,
        executor=body.executor,
        catchup=body.catchup,
    )
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in s.items()}


@router.delete("/pipelines/schedules/{name}", status_code=204)
def remove_schedule(name: str, ws: Any = Depends(get_ws)) -> None:
    ws.pipelines.schedules.remove(name)


@router.get("/jobs")
def jobs(
    status: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    ws: Any = Depends(get_ws),
) -> list[dict[str, Any]]:
    return [j.to_dict() for j in ws.jobs.list(status=status, limit=limit)]


@router.get("/jobs/{job_id}")
def get_job(job_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.jobs.get(job_id).to_dict())


@router.get("/jobs/{job_id}/logs")
def job_logs(job_id: str, since: int = Query(0, ge=0), ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Output chunks from number *since* on (poll with the returned ``next``)."""
    text, nxt = ws.jobs.logs(job_id, since)
    return {"text": text, "next": nxt, "status": ws.jobs.get(job_id).status}


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.jobs.cancel(job_id).to_dict())
