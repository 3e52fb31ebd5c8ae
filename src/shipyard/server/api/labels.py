"""Labeling REST routes: everything the labeling UI does, plus management and exchange."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...core import InvalidInput
from .._deps import get_ws

router = APIRouter(prefix="/api/v1/labels", tags=["labels"])


class ProjectIn(BaseModel):
    name: str
    classes: list[str]
    kind: str = "classification"
    dataset: str | None = Field(None, description="A dataset reference, e.g. 'reviews@2'")
    rows: list[dict[str, Any]] | None = Field(None, description="Task payloads, one per task")
    instructions: str = ""
    overlap: int = 3
    gold_fraction: float = 0.0
    gold_column: str | None = None
    text_column: str | None = None
    image_column: str | None = None
    min_gold_accuracy: float = 0.7


class AnnotatorIn(BaseModel):
    name: str
    role: str = "annotator"


class WhoIn(BaseModel):
    annotator: str


class AnnotationIn(BaseModel):
    annotator: str
    label: Any = Field(None, description="Class name; list of classes; list of regions")
    duration_ms: int | None = None


class ReviewIn(BaseModel):
    reviewer: str
    label: Any = Field(None, description="The corrected label; omit to accept the majority")
    note: str | None = None


class SendToReviewIn(BaseModel):
    rows: list[int]
    note: str | None = None


class GoldIn(BaseModel):
    answers: dict[int, Any]


class ProbsIn(BaseModel):
    probabilities: list[list[float]] | None = Field(None, description="One row per task")
    model: str | None = Field(None, description="A registered model reference")
    method: str = "dawid_skene"
    filter_by: str = "both"
    strategy: str = "entropy"
    pre_annotate: bool = True
    send_to_review: bool = True


class ExportIn(BaseModel):
    method: str | None = None
    name: str | None = None
    message: str | None = None


class LabelStudioIn(BaseModel):
    name: str
    tasks: list[dict[str, Any]]
    kind: str | None = None
    classes: list[str] | None = None
    overlap: int | None = None


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not np.isfinite(v):
                v = None
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            clean[k] = v
        out.append(clean)
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, pd.DataFrame):
        return _records(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


# ---------------------------------------------------------------- projects
@router.get("/projects")
def list_projects(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Every labeling project with its progress counters."""
    return {"projects": [p.to_dict() for p in ws.labels.projects()]}


@router.post("/projects", status_code=201)
def create_project(body: ProjectIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Create a project from a dataset reference or from inline rows."""
    if (body.dataset is None) == (body.rows is None):
        raise InvalidInput("give exactly one of 'dataset' (a reference) or 'rows' (payloads)")
    source: Any = body.dataset if body.dataset is not None else pd.DataFrame(body.rows)
    p = ws.labels.create_project(
        body.name,
        source,
        kind=body.kind,
        classes=body.classes,
        instructions=body.instructions,
        overlap=body.overlap,
        gold_fraction=body.gold_fraction,
        gold_column=body.gold_column,
        text_column=body.text_column,
        image_column=body.image_column,
        min_gold_accuracy=body.min_gold_accuracy,
    )
    return dict(p.to_dict())


@router.get("/projects/{project}")
def get_project(project: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.labels.project(project).to_dict())


@router.get("/projects/{project}/tasks")
def list_tasks(
    project: str,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=1000),
    status: str | None = Query(None, pattern="^(open|review)$"),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """One page of tasks in queue order."""
    page = ws.labels.tasks(project, offset=offset, limit=limit, status=status)
    return {"offset": offset, "limit": limit, "tasks": _records(page)}


@router.get("/projects/{project}/tasks/{row}")
def get_task(project: str, row: int, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.labels.task(project, row).to_dict())


@router.get("/projects/{project}/tasks/{row}/media")
def get_media(
    project: str, row: int, column: str | None = None, ws: Any = Depends(get_ws)
) -> Response:
    """The task's binary payload (an image), with its content type."""
    from ...labels._payloads import sniff_image_type

    data = ws.labels.media(project, row, column)
    return Response(
        data, media_type=sniff_image_type(data), headers={"Cache-Control": "max-age=3600"}
    )


@router.post("/projects/{project}/gold")
def set_gold(project: str, body: GoldIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Give known answers; those tasks become (unannounced) gold tasks."""
    return {"gold_tasks_set": ws.labels.set_gold(project, body.answers)}


# ---------------------------------------------------------------- annotate loop
@router.post("/projects/{project}/next")
def next_task(project: str, body: WhoIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """The annotator's next task (``task`` is null when nothing is left for them)."""
    task = ws.labels.next_task(project, body.annotator)
    if task is not None and task.progress is not None:
        return {
            "task": task.to_dict(),
            "progress": {**task.progress, "done_by_me": task.done_by_me},
        }
    p = ws.labels.project(project)
    progress = {"n_tasks": p.n_regular, "n_complete": p.n_complete, "progress": p.progress}
    return {"task": None, "progress": {**progress, "done_by_me": None}}


@router.post("/projects/{project}/tasks/{row}/annotations", status_code=201)
def submit(project: str, row: int, body: AnnotationIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Submit the annotator's answer for an assigned task."""
    return dict(
        ws.labels.submit(project, row, body.annotator, body.label, duration_ms=body.duration_ms)
    )


@router.post("/projects/{project}/tasks/{row}/skip")
def skip(project: str, row: int, body: WhoIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    ws.labels.skip(project, row, body.annotator)
    return {"row": row, "status": "skipped"}


# ---------------------------------------------------------------- quality
@router.get("/projects/{project}/agreement")
def agreement(project: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Agreement overall, per class, per annotator pair and per annotator."""
    rep = ws.labels.agreement(project)
    return dict(_jsonable(rep.to_dict() if hasattr(rep, "to_dict") else rep))


@router.get("/projects/{project}/timeline")
def timeline(
    project: str, buckets: int = Query(24, ge=2, le=200), ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    return {"timeline": _records(ws.labels.timeline(project, buckets))}


@router.get("/projects/{project}/annotators")
def annotator_quality(
    project: str, min_gold_accuracy: float | None = None, ws: Any = Depends(get_ws)
) -> dict[str, Any]:
    """Per-annotator work, gold accuracy, agreement and flags."""
    q = ws.labels.quality(project, min_gold_accuracy=min_gold_accuracy)
    return {"annotators": _records(q)}


@router.post("/projects/{project}/annotators/{annotator}/exclude")
def exclude(project: str, annotator: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return {"annotator": annotator, "reopened_tasks": ws.labels.exclude(project, annotator)}


@router.post("/projects/{project}/annotators/{annotator}/include")
def include(project: str, annotator: str, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    ws.labels.include(project, annotator)
    return {"annotator": annotator, "excluded": False}


@router.get("/projects/{project}/labels")
def aggregated(
    project: str,
    method: str | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=10_000),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    """Aggregated labels (truth inference), one page."""
    agg = ws.labels.aggregate(project, method)
    return {"total": len(agg), "labels": _records(agg.iloc[offset : offset + limit])}


@router.post("/projects/{project}/export")
def export(project: str, body: ExportIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Commit the aggregated labels as a new dataset version (or a Parquet blob)."""
    out = ws.labels.export(project, body.method, name=body.name, message=body.message)
    v = out.dataset_version
    return {
        "project": out.project,
        "method": out.method,
        "rows": len(out.frame),
        "labeled": out.n_labeled,
        "digest": out.digest,
        "dataset_version": None
        if v is None
        else {"id": v.id, "name": v.name, "version": v.version},
    }


# ---------------------------------------------------------------- model assistance
def _probs(body: ProbsIn) -> Any:
    if (body.probabilities is None) == (body.model is None):
        raise InvalidInput("give exactly one of 'probabilities' or 'model'")
    return body.model if body.model is not None else np.asarray(body.probabilities)


@router.post("/projects/{project}/label-errors")
def label_errors(project: str, body: ProbsIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Likely label errors by confident learning (sent to review unless told not to)."""
    out = ws.labels.find_label_errors(
        project,
        _probs(body),
        method=body.method,
        filter_by=body.filter_by,
        send_to_review=body.send_to_review,
    )
    return {"issues": _records(out)}


@router.post("/projects/{project}/prioritize")
def prioritize(project: str, body: ProbsIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Order the queue by model uncertainty (active learning)."""
    out = ws.labels.prioritize(
        project, _probs(body), strategy=body.strategy, pre_annotate=body.pre_annotate
    )
    return {"strategy": body.strategy, "top": _records(out.head(100))}


# ---------------------------------------------------------------- review
@router.get("/projects/{project}/review")
def review_queue(
    project: str,
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
    ws: Any = Depends(get_ws),
) -> dict[str, Any]:
    return {"tasks": ws.labels.review_queue(project, limit=limit, offset=offset)}


@router.post("/projects/{project}/review")
def send_to_review(project: str, body: SendToReviewIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return {"queued": ws.labels.send_to_review(project, body.rows, note=body.note)}


@router.post("/projects/{project}/tasks/{row}/review")
def review(project: str, row: int, body: ReviewIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Accept (no label) or correct (a label) the task's annotations."""
    return dict(ws.labels.review(project, row, body.reviewer, body.label, note=body.note))


# ---------------------------------------------------------------- annotators and exchange
@router.get("/annotators")
def annotators(ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return {"annotators": [a.to_dict() for a in ws.labels.annotators()]}


@router.post("/annotators", status_code=201)
def add_annotator(body: AnnotatorIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    return dict(ws.labels.add_annotator(body.name, body.role).to_dict())


@router.get("/projects/{project}/label-studio")
def to_label_studio(project: str, ws: Any = Depends(get_ws)) -> list[dict[str, Any]]:
    """The project as Label Studio task JSON."""
    return list(ws.labels.to_label_studio(project))


@router.post("/label-studio", status_code=201)
def from_label_studio(body: LabelStudioIn, ws: Any = Depends(get_ws)) -> dict[str, Any]:
    """Create a project from Label Studio task JSON (annotations included)."""
    p = ws.labels.from_label_studio(
        body.name, body.tasks, kind=body.kind, classes=body.classes, overlap=body.overlap
    )
    return dict(p.to_dict())
