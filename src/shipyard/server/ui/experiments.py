"""Experiments UI: experiment list, runs table (filter, sort, pages), run page, compare."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ...core import InvalidInput, NotFound
from .._deps import get_ws, render
from .._links import object_url
from .._paging import PER_PAGE, page_params, pager

router = APIRouter(include_in_schema=False)
AREA = "experiments"
PAGE_SIZE = 50
MAX_COLUMNS = 8


def fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.5g}"
    return "" if v is None else str(v)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(
    request: Request,
    page: int = 1,
    per_page: int = PER_PAGE,
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    page, per_page = page_params(page, per_page)
    pg = pager(request, page, per_page, ws.experiments.count())
    return render(
        request,
        "experiments/list.html",
        area=AREA,
        experiments=ws.experiments.list(limit=per_page, offset=pg.offset),
        pager=pg,
        breadcrumbs=[("Experiments", None)],
    )


@router.get("/experiments/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    runs: list[str] = Query([]),
    metric: str | None = None,
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    if len(runs) < 2:
        raise InvalidInput("select at least two runs to compare (?runs=ID&runs=ID)")
    loaded = [ws.runs.get(r) for r in runs]
    cmp = ws.runs.compare(loaded)
    metric_keys = sorted(cmp.metrics)
    chosen = metric if metric in metric_keys else (metric_keys[0] if metric_keys else None)
    parcoords = _parcoords(loaded, sorted(cmp.params) or sorted(cmp.same_params), chosen)
    rows = [(f"params.{k}", [fmt(v.get(r.id)) for r in loaded]) for k, v in cmp.params.items()] + [
        (f"metrics.{k}", [fmt((v.get(r.id) or {}).get("last")) for r in loaded])
        for k, v in cmp.metrics.items()
    ]
    return render(
        request,
        "experiments/compare.html",
        area=AREA,
        runs=loaded,
        rows=rows,
        same_params=cmp.same_params,
        metric_keys=metric_keys,
        chosen=chosen,
        parcoords=parcoords,
        breadcrumbs=[("Experiments", "/experiments"), ("Compare", None)],
    )


def _parcoords(runs: list[Any], keys: list[str], metric: str | None) -> str | None:
    """A Plotly parallel-coordinates figure (JSON) of params vs one metric."""
    if not keys or metric is None:
        return None
    dims = []
    for k in keys[:12]:
        values = [r.params.get(k) for r in runs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            dims.append({"label": k, "values": [float(v) for v in values]})
        else:
            cats = sorted({str(v) for v in values})
            dims.append(
                {
                    "label": k,
                    "values": [cats.index(str(v)) for v in values],
                    "tickvals": list(range(len(cats))),
                    "ticktext": cats,
                }
            )
    mvals = [r.metrics.get(metric) for r in runs]
    clean = [v if isinstance(v, float) and math.isfinite(v) else None for v in mvals]
    dims.append({"label": metric, "values": clean})
    fig = {
        "data": [
            {
                "type": "parcoords",
                "line": {
                    "color": [v if v is not None else 0 for v in clean],
                    "colorscale": "Viridis",
                    "showscale": True,
                },
                "dimensions": dims,
            }
        ],
        "layout": {"margin": {"l": 60, "r": 60, "t": 40, "b": 20}, "height": 380},
    }
    return json.dumps(fig)


@router.get("/experiments/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    run = ws.runs.get(run_id)
    sums = run.metric_summaries()
    graph = ws.lineage.graph(run.lineage_node, depth=1)
    links = []
    for e in graph.edges:
        other = e.src if e.dst == run.lineage_node.key else e.dst
        node = graph.nodes.get(other)
        if node is None or other == run.lineage_node.key:
            continue
        direction = "input" if e.dst == run.lineage_node.key else "output"
        links.append((direction, e.relation, node, object_url(node.kind, node.id)))
    return render(
        request,
        "experiments/run.html",
        area=AREA,
        run=run,
        summaries=sorted(sums.items()),
        metric_keys=sorted(sums)[:24],
        artifacts=run.artifacts(),
        links=links,
        children=ws.runs.children(run),
        env=json.dumps(run.env, indent=2, sort_keys=True, default=str),
        fmt=fmt,
        breadcrumbs=[
            ("Experiments", "/experiments"),
            (run.experiment, f"/experiments/{run.experiment_id}"),
            (run.name, None),
        ],
    )


@router.get("/experiments/{ref}", response_class=HTMLResponse)
def experiment_page(
    ref: str,
    request: Request,
    filter: str | None = None,
    order: str | None = None,
    page_token: str | None = None,
    ws: Any = Depends(get_ws),
) -> HTMLResponse:
    exp = ws.experiments.get(ref)
    keys = ws.runs.keys(exp.name, recent_runs=500)
    error = None
    page: list[Any] = []
    next_token = prev_token = None
    total = 0
    try:
        result = ws.runs.search(
            experiments=[exp.id],
            filter=filter,
            order_by=[order] if order else None,
            max_results=PAGE_SIZE,
            page_token=page_token,
        )
        page, next_token = list(result), result.next_page_token
        prev_token = result.previous_page_token
        total = ws.runs.count([exp.id], filter)
    except (InvalidInput, NotFound) as exc:
        error = exc.message
    param_cols = keys["params"][:MAX_COLUMNS]
    metric_cols = keys["metrics"][:MAX_COLUMNS]
    return render(
        request,
        "experiments/experiment.html",
        area=AREA,
        exp=exp,
        runs=page,
        total=total,
        param_cols=param_cols,
        metric_cols=metric_cols,
        filter=filter or "",
        order=order or "",
        next_token=next_token,
        prev_token=prev_token,
        error=error,
        fmt=fmt,
        breadcrumbs=[("Experiments", "/experiments"), (exp.name, None)],
    )
