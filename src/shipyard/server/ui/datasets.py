"""Dataset pages: list, history, a version (schema, statistics, histograms, files,
validation) and diffs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ...core import is_id
from .._deps import get_ws, render
from .._paging import PER_PAGE, page_params, pager

AREA = "datasets"
router = APIRouter(include_in_schema=False)


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(
    request: Request,
    page: int = 1,
    per_page: int = PER_PAGE,
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    page, per_page = page_params(page, per_page)
    pg = pager(request, page, per_page, ws.datasets.count())
    return render(
        request,
        "datasets/list.html",
        area=AREA,
        datasets=ws.datasets.list(limit=per_page, offset=pg.offset),
        pager=pg,
        breadcrumbs=[("Datasets", None)],
    )


@router.get("/datasets/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    a: str = Query(...),
    b: str = Query(...),
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    d = ws.datasets.diff(a, b)
    va, vb = ws.datasets.get(a), ws.datasets.get(b)
    return render(
        request,
        "datasets/diff.html",
        area=AREA,
        diff=d,
        va=va,
        vb=vb,
        breadcrumbs=[
            ("Datasets", "/datasets"),
            (va.name, f"/datasets/{va.name}"),
            (f"diff {d.a} → {d.b}", None),
        ],
    )


@router.get("/datasets/versions/{ref}", response_class=HTMLResponse)
def version_page(
    ref: str,
    request: Request,
    prefix: str = Query(""),
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    v = ws.datasets.get(ref)
    files = [f for f in v.files() if f.path.startswith(prefix)]
    profile = v.stats() if v.profile is not None else None
    history = ws.datasets.log(v.name, limit=50)
    return render(
        request,
        "datasets/version.html",
        area=AREA,
        v=v,
        profile=profile,
        files=files[:1000],
        file_total=len(files),
        prefix=prefix,
        report=v.validation_report,
        history=history,
        breadcrumbs=[("Datasets", "/datasets"), (v.name, f"/datasets/{v.name}"), (v.ref, None)],
    )


@router.get("/datasets/{key}", response_class=HTMLResponse)
def dataset_page(
    key: str,
    request: Request,
    page: int = 1,
    per_page: int = PER_PAGE,
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    name = key
    if is_id(key):  # lineage links use the dataset id
        name = next((d.name for d in ws.datasets.list() if d.id == key.upper()), key)
    page, per_page = page_params(page, per_page)
    d = ws.datasets.dataset(name)
    pg = pager(request, page, per_page, d.latest_version)  # versions are gap-free
    versions = ws.datasets.log(name, limit=per_page, offset=pg.offset)
    schema = ws.datasets.get_schema(name)
    return render(
        request,
        "datasets/dataset.html",
        area=AREA,
        d=d,
        versions=versions,
        pager=pg,
        schema=schema.to_json() if schema is not None else None,
        breadcrumbs=[("Datasets", "/datasets"), (d.name, None)],
    )
