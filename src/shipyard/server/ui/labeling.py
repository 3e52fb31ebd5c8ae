"""Labeling pages: project list, project dashboard, the labeling view, the review view."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from .._deps import get_ws, render

router = APIRouter(include_in_schema=False)
AREA = "labeling"


def _clean(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _rows(df: Any) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


@router.get("/labeling", response_class=HTMLResponse)
def projects(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    return render(
        request,
        "labeling/list.html",
        area=AREA,
        projects=ws.labels.projects(),
        breadcrumbs=[("Home", "/"), ("Labeling", None)],
    )


@router.get("/labeling/{ref}", response_class=HTMLResponse)
def project_page(ref: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    labels = ws.labels
    status = labels.status(ref)
    p = labels.project(status["id"])
    rep = labels.agreement(p)
    annotators = _rows(labels.quality(p, report=rep))
    timeline = labels.timeline(p)
    charts: dict[str, Any] = {
        "complete": status["complete"],
        "in_progress": status["in_progress"],
        "untouched": status["not_started"],
        "timeline": {
            "end": timeline["end"].tolist(),
            "alpha": [_clean(x) for x in timeline["krippendorff_alpha"].tolist()],
            "annotations": timeline["annotations"].tolist(),
        },
        "confusion": None,
    }
    if hasattr(rep, "summary"):
        summary = rep.summary()
        per_class = _rows(rep.per_class)
        names = sorted(set(rep.pairs["annotator_a"]) | set(rep.pairs["annotator_b"]))
        z = [[None] * len(names) for _ in names]
        index = {n: i for i, n in enumerate(names)}
        for rec in rep.pairs.to_dict(orient="records"):
            i, j = index[rec["annotator_a"]], index[rec["annotator_b"]]
            z[i][j] = z[j][i] = _clean(rec["cohen_kappa"])
        charts["confusion"] = rep.confusion.tolist() if rep.confusion.sum() else None
        charts["confusion_labels"] = rep.classes
        charts["pairs"] = {"names": names, "z": z}
    else:
        summary = {"match_agreement": _clean(rep["match_agreement"])}
        per_class = []
    return render(
        request,
        "labeling/project.html",
        area=AREA,
        p=p,
        summary=summary,
        per_class=per_class,
        annotators=annotators,
        confusion=charts["confusion"] is not None,
        charts=charts,
        n_review=status["review_pending"],
        breadcrumbs=[("Home", "/"), ("Labeling", "/labeling"), (p.name, None)],
    )


@router.get("/labeling/{ref}/annotate", response_class=HTMLResponse)
def annotate(
    ref: str, request: Request, annotator: str | None = None, ws: Any = Depends(get_ws)
) -> HTMLResponse:
    p = ws.labels.project(ref)
    crumbs = [("Home", "/"), ("Labeling", "/labeling"), (p.name, f"/labeling/{p.id}")]
    if not annotator:
        return render(
            request,
            "labeling/pick.html",
            area=AREA,
            p=p,
            review=False,
            annotators=ws.labels.annotators(),
            breadcrumbs=[*crumbs, ("Label", None)],
        )
    ws.labels.ensure_annotator(annotator)
    cfg = {
        "project": p.id,
        "annotator": annotator,
        "kind": p.kind,
        "classes": p.classes,
        "textColumn": p.config.get("text_column"),
        "imageColumn": p.config.get("image_column"),
    }
    return render(
        request,
        "labeling/annotate.html",
        area=AREA,
        p=p,
        annotator=annotator,
        cfg=cfg,
        breadcrumbs=[*crumbs, ("Label", None)],
    )


@router.get("/labeling/{ref}/review", response_class=HTMLResponse)
def review(
    ref: str,
    request: Request,
    reviewer: str | None = None,
    offset: int = Query(0, ge=0),
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    p = ws.labels.project(ref)
    crumbs = [("Home", "/"), ("Labeling", "/labeling"), (p.name, f"/labeling/{p.id}")]
    if not reviewer:
        people = [a for a in ws.labels.annotators() if a.role in ("reviewer", "manager")]
        return render(
            request,
            "labeling/pick.html",
            area=AREA,
            p=p,
            review=True,
            annotators=people,
            breadcrumbs=[*crumbs, ("Review", None)],
        )
    tasks = ws.labels.review_queue(p, limit=20, offset=offset)
    return render(
        request,
        "labeling/review.html",
        area=AREA,
        p=p,
        reviewer=reviewer,
        tasks=tasks,
        offset=offset,
        total=ws.labels.status(p)["review_pending"],
        text_column=p.config.get("text_column"),
        image_column=p.config.get("image_column"),
        breadcrumbs=[*crumbs, ("Review", None)],
    )
