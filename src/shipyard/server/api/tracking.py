"""Tracking REST routes: experiments, runs (create, log batch, end), search, series, artifacts."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ...core import InvalidInput
from .._deps import get_ws

router = APIRouter(prefix="/api/v1", tags=["tracking"])

MAX_BATCH_METRICS = 10_000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: send them as the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class ExperimentIn(BaseModel):
    name: str
    description: str = ""
    tags: dict[str, Any] = Field(default_factory=dict)


class RunIn(BaseModel):
    experiment: str = "default"
    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    parent: str | None = None


class MetricIn(BaseModel):
    key: str
    value: float | str
    step: int | None = None
    timestamp: int | None = None


class BatchIn(BaseModel):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)


class EndIn(BaseModel):
    status: str = "finished"
    error: str | None = None


class SearchIn(BaseModel):
    experiments: list[str] | None = None
    filter: str | None = None
    order_by: list[str] | None = None
    max_results: int = 100
    page_token: str | None = None


@router.get("/experiments")
def list_experiments(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Every experiment with its run count."""
    return {"experiments": [e.to_dict() for e in ws.experiments.list()]}


@router.post("/experiments", status_code=201)
def create_experiment(body: ExperimentIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.experiments.create(body.name, body.description, body.tags).to_dict())


@router.get("/experiments/{ref}")
def get_experiment(ref: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.experiments.get(ref).to_dict())


@router.post("/runs", status_code=201)
def create_run(body: RunIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Start a run. Its heartbeat is the last write: a client that stops logging for
    longer than the lost threshold sees the run marked lost."""
    run = ws.runs.start(
        body.experiment, body.name, body.params, body.tags, body.parent, capture_env=False
    )
    ws.runs.writer.unwatch(run.id)  # the server is not the run's process
    ws.runs.forget_live(run)
    return _clean(run.to_dict())


@router.get("/runs")
def list_runs(
    experiment: list[str] | None = Query(None),
    filter: str | None = None,
    order_by: list[str] | None = Query(None),
    max_results: int = Query(100, ge=1, le=10_000),
    page_token: str | None = None,
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Search runs with the filter grammar (GET form of ``POST /runs/search``)."""
    return _search(
        ws,
        SearchIn(
            experiments=experiment,
            filter=filter,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        ),
    )


@router.post("/runs/search")
def search_runs(body: SearchIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return _search(ws, body)


def _search(ws: Any, body: SearchIn) -> dict[str, Any]:
    page = ws.runs.search(
        experiments=body.experiments,
        filter=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
    )
    return {
        "runs": [_clean(r.to_dict()) for r in page],
        "next_page_token": page.next_page_token,
    }


@router.get("/runs/compare")
def compare_runs(runs: list[str] = Query(...), ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Params that differ between the runs, and their metric summaries."""
    c = ws.runs.compare(runs)
    return _clean(
        {
            "runs": c.run_ids,
            "names": c.names,
            "params": c.params,
            "same_params": c.same_params,
            "metrics": c.metrics,
        }
    )


@router.get("/runs/{run_id}")
def get_run(run_id: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return _clean(ws.runs.get(run_id).to_dict())


@router.post("/runs/{run_id}/log-batch")
def log_batch(run_id: str, body: BatchIn = Body(...), ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Record metrics, params and tags in one call (all or nothing).

    Limits: 10,000 metric points, 100 params and 100 tags per call. Metric values are
    numbers or the strings "NaN", "Infinity", "-Infinity".
    """
    for what, n, limit in (
        ("metrics", len(body.metrics), MAX_BATCH_METRICS),
        ("params", len(body.params), MAX_BATCH_PARAMS),
        ("tags", len(body.tags), MAX_BATCH_TAGS),
    ):
        if n > limit:
            raise InvalidInput(
                f"batch too large: {n} {what} (at most {limit} per call); split it into "
                "several log-batch calls",
                details={"field": what, "count": n, "limit": limit},
            )
    written = ws.runs.log_batch(
        run_id,
        metrics=[m.model_dump() for m in body.metrics],
        params=body.params,
        tags=body.tags,
    )
    with ws.db.write() as conn:  # a logged batch is a heartbeat
        from ...core import utcnow
        from ...tracking.tables import runs

        conn.execute(
            runs.update()
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(heartbeat_at=utcnow())
        )
    return {"run_id": run_id, "metrics_written": written}


@router.post("/runs/{run_id}/end")
def end_run(run_id: str, body: EndIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    run = ws.runs.get(run_id)
    run.end(body.status, error=body.error)
    return _clean(run.to_dict())


@router.get("/runs/{run_id}/metrics/{key:path}")
def metric_series(
    run_id: str,
    key: str,
    max_points: int | None = Query(None, ge=3, le=1_000_000),
    method: str = Query("minmax", pattern="^(minmax|lttb)$"),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """One metric series; ``max_points`` downsamples keeping the extremes."""
    return dict(ws.runs.series(run_id, key, max_points=max_points, method=method).to_dict())


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(run_id: str, prefix: str = "", ws: Any = Depends(get_ws)) -> dict[str, Any]:
    run = ws.runs.get(run_id)
    return {"run_id": run.id, "artifacts": [a.to_dict() for a in run.artifacts(prefix)]}


@router.get("/runs/{run_id}/artifacts/{path:path}")
def download_artifact(run_id: str, path: str, ws: Any = Depends(get_ws)) -> StreamingResponse:
    run = ws.runs.get(run_id)
    f = run.open_artifact(path)
    name = path.rsplit("/", 1)[-1]

    def chunks() -> Any:
        with f:
            while block := f.read(1 << 20):
                yield block

    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
