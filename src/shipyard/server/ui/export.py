"""Export UI: the export reports of a model version and one report's before/after page.

``/models/versions/{id}/export`` lists the report that produced the version and the
exports made from it (each result links to its version page, whose lineage graph shows
the ``exported_from`` / ``quantized_from`` / ``distilled_from`` edges);
``/export/reports/{id}`` shows one report: parity, size, latency, metric, refusal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

import shipyard.export as ex

from .._deps import get_ws, render

router = APIRouter(include_in_schema=False)


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    size = report.get("size")
    if size:
        rows.append(
            ("size (bytes)", f"{size['before']:,}", f"{size['after']:,} ({size['ratio']}x)")
        )
    params = report.get("parameters")
    if params:
        rows.append(("parameters", str(params.get("teacher")), str(params.get("student"))))
    metric = report.get("gate") or report.get("metric")
    if metric:
        name = metric.get("metric") or metric.get("name")
        rows.append(
            (f"{name} on {metric.get('data')}", f"{metric['before']:.4f}", f"{metric['after']:.4f}")
        )
    lat = report.get("latency") or {}
    for b in ("batch_1", "batch_32"):
        before, after = (lat.get("before") or {}).get(b), (lat.get("after") or {}).get(b)
        if before and after:
            rows.append(
                (
                    f"latency {b.replace('_', ' ')} p50 / p95 (ms)",
                    f"{before['p50_ms']:.3f} / {before['p95_ms']:.3f}",
                    f"{after['p50_ms']:.3f} / {after['p95_ms']:.3f}",
                )
            )
    return rows


def _link(ws: Any, ref: str | None) -> str | None:
    if not ref:
        return None
    try:
        return f"/models/versions/{ws.models.get(ref).id}"
    except Exception:
        return None


@router.get("/models/versions/{version_id}/export", response_class=HTMLResponse)
def version_exports(version_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    v = ws.models.get(version_id)
    found = ex.reports(v, 200, ws=ws)
    produced = next((r for r in found if r.result == v.ref), None)
    derived = [r for r in found if r.source == v.ref]
    return render(
        request,
        "export/version.html",
        area="models",
        v=v,
        produced=produced,
        derived=[(r, _link(ws, r.result)) for r in derived],
        rows=_rows(produced.report) if produced else [],
        source_url=_link(ws, produced.source) if produced else None,
    )


@router.get("/export/reports/{report_id}", response_class=HTMLResponse)
def report_page(report_id: str, request: Request, ws: Any = Depends(get_ws)) -> HTMLResponse:
    r = ex.Exports(ws).get_report(report_id)
    return render(
        request,
        "export/report.html",
        area="models",
        r=r,
        rows=_rows(r.report),
        source_url=_link(ws, r.source),
        result_url=_link(ws, r.result),
    )
