"""Models UI: model list, model page (versions, aliases, success criteria), version page
(metrics, signature, lineage, evaluation with slice bars, behavioral tests, alias history,
card) and a side-by-side comparison of two versions."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ...core import NotFound
from .._deps import get_ws, render
from .._links import object_url

router = APIRouter(include_in_schema=False)
AREA = "models"


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.4g}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "" if v is None else str(v)


def _slice_plots(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One Plotly bar chart per slice column: the slice metric, flagged bars in red."""
    if not report:
        return []
    by_col: dict[str, list[dict[str, Any]]] = {}
    for s in report.get("slices", []):
        by_col.setdefault(s["column"], []).append(s)
    plots = []
    for col, items in by_col.items():
        metric = items[0]["metric"]
        overall = items[0]["overall"]
        plots.append(
            {
                "column": col,
                "data": [
                    {
                        "type": "bar",
                        "x": [str(s["value"]) for s in items],
                        "y": [s["score"] for s in items],
                        "text": [f"n={s['n']}" for s in items],
                        "marker": {
                            "color": ["#c62828" if s["flagged"] else "#2456d6" for s in items]
                        },
                        "name": metric,
                    }
                ],
                "layout": {
                    "title": {"text": f"{metric} by {col}", "font": {"size": 13}},
                    "height": 300,
                    "margin": {"l": 50, "r": 20, "t": 40, "b": 60},
                    "shapes": [
                        {
                            "type": "line",
                            "xref": "paper",
                            "x0": 0,
                            "x1": 1,
                            "y0": overall,
                            "y1": overall,
                            "line": {"dash": "dot", "color": "#6a7485"},
                        }
                    ]
                    if isinstance(overall, (int, float))
                    else [],
                },
            }
        )
    return plots


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    return render(
        request,
        "models/list.html",
        area=AREA,
        models=ws.models.list_models(),
        criteria=ws.evaluations.success_criteria(),
        breadcrumbs=[("Models", None)],
    )


@router.get("/models/versions/{version_id}", response_class=HTMLResponse)
def version_page(version_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    v = ws.models.get(version_id)
    report = ws.models.latest_report(v)
    graph = ws.lineage.graph(v.lineage_node, depth=3).to_dict()
    for node in graph["nodes"]:
        node["url"] = object_url(node["kind"], node["id"])
    metrics = {k: x for k, x in v.metrics.items()}
    if report:
        metrics.update({k: x for k, x in report["metrics"].items() if isinstance(x, (int, float))})
    history = [
        m for m in ws.models.alias_history(v.name) if v.version in (m.from_version, m.to_version)
    ]
    versions = ws.models.versions(v.name)
    return render(
        request,
        "models/version.html",
        area=AREA,
        v=v,
        metrics=sorted(metrics.items()),
        report=report,
        slice_plots=_slice_plots(report),
        graph=graph,
        history=history,
        promotions=ws.models.promotions(v),
        training=ws.models.training_data(v),
        others=[x for x in versions if x.id != v.id],
        fmt=fmt,
        breadcrumbs=[
            ("Models", "/models"),
            (v.name, f"/models/{v.model_id}"),
            (f"v{v.version}", None),
        ],
    )


@router.get("/models/{key}/compare", response_class=HTMLResponse)
def compare_page(
    key: str,
    request: Request,
    a: str = Query(..., description="version or alias"),
    b: str = Query(...),
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    m = ws.models.get_model(key)
    cmp = ws.models.compare(f"{m.name}@{a}", f"{m.name}@{b}")
    plots = {side: _slice_plots(cmp["reports"][side]) for side in ("a", "b")}
    return render(
        request,
        "models/compare.html",
        area=AREA,
        model=m,
        cmp=cmp,
        plots=plots,
        fmt=fmt,
        breadcrumbs=[("Models", "/models"), (m.name, f"/models/{m.id}"), ("compare", None)],
    )


@router.get("/models/{key}", response_class=HTMLResponse)
def model_page(key: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    try:
        m = ws.models.get_model(key)
    except NotFound:
        raise
    versions = ws.models.versions(m.name)
    reports = {v.id: ws.models.latest_report(v) for v in versions}
    metric_keys = sorted(
        {
            k
            for r in reports.values()
            if r
            for k, x in r["metrics"].items()
            if isinstance(x, (int, float))
        }
    )[:6]
    return render(
        request,
        "models/model.html",
        area=AREA,
        model=m,
        versions=list(reversed(versions)),
        reports=reports,
        metric_keys=metric_keys,
        matrix=ws.evaluations.criteria_matrix(m.name),
        history=list(reversed(ws.models.alias_history(m.name))),
        promotions=list(reversed(ws.models.promotions(m.name))),
        fmt=fmt,
        breadcrumbs=[("Models", "/models"), (m.name, None)],
    )
