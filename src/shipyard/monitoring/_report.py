"""Plotly figures of a monitor and the standalone HTML drift report."""

from __future__ import annotations

import html
import json
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._workspace import Workspace

_PLOT_CHECKS = 200


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def drift_heatmap(checks: list[dict[str, Any]]) -> Any:
    """Drift by column over time: colour = PSI, hover = test, statistic and decision."""
    go = _go()
    checks = [c for c in reversed(checks) if c.get("columns")]
    cols = sorted({k for c in checks for k in c["columns"]})
    x = [c["window_end"] for c in checks]
    z = [[(c["columns"].get(k) or {}).get("psi") for c in checks] for k in cols]
    text = [[_hover(c["columns"].get(k)) for c in checks] for k in cols]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=cols,
            text=text,
            hoverinfo="text",
            colorscale="YlOrRd",
            zmin=0,
            zmax=max(0.3, max((v for row in z for v in row if v is not None), default=0.3)),
            colorbar={"title": "PSI"},
        )
    )
    fig.update_layout(title="Drift by column (PSI) over time", height=120 + 24 * len(cols))
    return fig


def _hover(col: dict[str, Any] | None) -> str:
    if not col:
        return ""
    stat = col.get("statistic")
    s = f"{stat:.4g}" if isinstance(stat, int | float) else "n/a"
    psi = col.get("psi")
    p = f"{psi:.3f}" if isinstance(psi, int | float) else "n/a"
    return f"{col['column']}<br>{col['test']} = {s}<br>PSI = {p}<br>drifted: {col['drifted']}"


def histogram(reference: dict[str, Any], current: dict[str, Any] | None, column: str) -> Any:
    """Reference vs current distribution of one column (shares)."""
    go = _go()
    fig = go.Figure()
    cur = (current or {}).get("current") or {}
    if reference.get("kind") == "numeric" and reference.get("hist"):
        edges = reference["hist"]["edges"]
        mids = [(a + b) / 2 for a, b in pairwise(edges)]
        ref_counts = reference["hist"]["counts"]
        tot = sum(ref_counts) or 1
        fig.add_bar(x=mids, y=[c / tot for c in ref_counts], name="reference", opacity=0.6)
        if cur.get("hist"):
            ctot = sum(cur["hist"]) + cur.get("below", 0) + cur.get("above", 0) or 1
            fig.add_bar(x=mids, y=[c / ctot for c in cur["hist"]], name="current", opacity=0.6)
    else:
        cats = reference.get("categories") or {}
        tot = sum(cats.values()) + reference.get("other", 0) or 1
        keys = list(cats)[:30]
        fig.add_bar(x=keys, y=[cats[k] / tot for k in keys], name="reference", opacity=0.6)
        cc = cur.get("categories") or {}
        if cc:
            ctot = sum(cc.values()) or 1
            fig.add_bar(x=keys, y=[cc.get(k, 0) / ctot for k in keys], name="current", opacity=0.6)
    fig.update_layout(
        barmode="overlay", title=f"{column}: reference vs current", yaxis_title="share"
    )
    return fig


def series(checks: list[dict[str, Any]], keys: list[tuple[str, str]], title: str) -> Any:
    """Line chart of values from each check's health or performance over time."""
    go = _go()
    checks = list(reversed(checks))
    fig = go.Figure()
    for key, label in keys:
        xs, ys = [], []
        for c in checks:
            v = _pick(c, key)
            if v is not None:
                xs.append(c["window_end"])
                ys.append(v)
        if xs:
            fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=label)
    fig.update_layout(title=title)
    return fig


def _pick(check: dict[str, Any], key: str) -> float | None:
    if key in ("drift_share",):
        return check.get(key)
    perf = check.get("performance") or {}
    if key in perf and isinstance(perf[key], int | float):
        return float(perf[key])
    health = check.get("health") or []
    if not health:
        return None
    if key == "request_rate":
        return float(sum(h["request_rate"] for h in health))
    vals = [h.get(key) for h in health if h.get(key) is not None]
    return float(max(vals)) if vals else None


def figures(ws: Workspace, name: str, column: str | None = None) -> dict[str, Any]:
    """Every dashboard figure of a monitor, keyed by name."""
    checks = ws.monitors.checks(name, _PLOT_CHECKS)
    ref = ws.monitors.reference(name)
    m = ws.monitors.get(name)
    last = next((c for c in checks if c.get("columns")), None)
    cols = m.columns or []
    column = (
        column
        if column in (cols or [])
        else (
            (last or {}).get("drifted_columns", [None])[0]
            if last and last.get("drifted_columns")
            else (cols[0] if cols else None)
        )
    )
    out: dict[str, Any] = {"drift": drift_heatmap(checks)}
    if column:
        cur = (last or {}).get("columns", {}).get(column)
        out["histogram"] = histogram(ref.columns[column], cur, column)
    pref = ref.columns.get("out_predict")
    if pref:
        cur = ((last or {}).get("prediction") or {}).get("predict")
        out["prediction"] = histogram(pref, cur, "prediction")
    out["latency"] = series(
        checks,
        [("p50_latency_ms", "p50"), ("p95_latency_ms", "p95"), ("p99_latency_ms", "p99")],
        "Latency (ms)",
    )
    out["errors"] = series(checks, [("error_rate", "error rate")], "Error rate")
    out["rate"] = series(checks, [("request_rate", "requests/s")], "Request rate")
    out["performance"] = series(
        checks,
        [
            ("accuracy", "accuracy"),
            ("f1", "F1"),
            ("estimated_accuracy", "estimated accuracy"),
            ("rmse", "RMSE"),
            ("mae", "MAE"),
        ],
        "Live performance",
    )
    return out


def drift_report_html(ws: Workspace, name: str, check_id: str | None = None) -> str:
    """A standalone HTML drift report (Plotly embedded) of a monitor's latest check."""
    import plotly.io as pio

    m = ws.monitors.get(name)
    checks = ws.monitors.checks(name, _PLOT_CHECKS)
    check = next((c for c in checks if check_id in (None, c["id"])), None)
    ref = ws.monitors.reference(name)
    parts: list[str] = []
    first = True

    def add(fig: Any) -> None:
        nonlocal first
        parts.append(pio.to_html(fig, include_plotlyjs=first, full_html=False))
        first = False

    add(drift_heatmap(checks))
    rows = []
    if check:
        for col, r in sorted((check.get("columns") or {}).items()):
            stat = r.get("statistic")
            psi = r.get("psi")
            rows.append(
                f"<tr class='{'drift' if r['drifted'] else ''}'><td>{html.escape(col)}</td>"
                f"<td>{r['test']}</td><td>{'' if stat is None else f'{stat:.4g}'}</td>"
                f"<td>{r['threshold']}</td><td>{'' if psi is None else f'{psi:.3f}'}</td>"
                f"<td>{'yes' if r['drifted'] else 'no'}</td><td>{r['rows']}</td></tr>"
            )
        for col in check.get("drifted_columns") or []:
            add(histogram(ref.columns[col], check["columns"][col], col))
    if check:
        share = check["drift_share"]
        summary = (
            f"<p>window {check['window_start']} to {check['window_end']}, {check['rows']} rows, "
            f"status <b>{check['status']}</b>, drift share "
            f"{'n/a' if share is None else f'{share:.2f}'}</p>"
        )
    else:
        summary = "<p>No check has run yet.</p>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Drift report: {html.escape(m.name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;}} table{{border-collapse:collapse}}
td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}}
tr.drift{{background:#fde2e1}}</style>
</head><body>
<h1>Drift report: {html.escape(m.name)}</h1>
<p>model {html.escape(m.model)}{"" if m.version is None else "@" + str(m.version)} · reference
{html.escape(json.dumps(m.reference))}</p>
{summary}
<table><tr><th>column</th><th>test</th><th>statistic</th><th>threshold</th><th>PSI</th>
<th>drifted</th><th>rows</th></tr>{"".join(rows)}</table>
{"".join(parts)}
</body></html>
"""
