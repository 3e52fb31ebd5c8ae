"""Model cards: Markdown and HTML generated from what the registry knows.

Sections: intended use (the description), training data (versions and statistics),
metrics, evaluation (slices, behavioral tests, data and operational checks),
promotions, signature, lineage and size.
"""

from __future__ import annotations

import html
from typing import Any

from ._model import ModelVersion


def build_card(registry: Any, v: ModelVersion) -> dict[str, Any]:
    up = registry.ws.lineage.upstream(v.lineage_node, depth=3)
    lineage = [
        {
            "src": up.nodes[e.src].label if e.src in up.nodes else e.src,
            "relation": e.relation,
            "dst": up.nodes[e.dst].label if e.dst in up.nodes else e.dst,
        }
        for e in up.edges
    ]
    report = registry.latest_report(v)
    return {
        "version": v.to_dict(),
        "training_data": [t.to_dict() for t in registry.training_data(v)],
        "report": report,
        "promotions": [p.to_dict() for p in registry.promotions(v)],
        "lineage": lineage,
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "—"
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    out += [
        "| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in r) + " |" for r in rows
    ]
    return [*out, ""]


def _mark(passed: bool) -> str:
    return "pass" if passed else "FAIL"


def render_markdown(card: dict[str, Any]) -> str:
    v = card["version"]
    out = [f"# Model card: {v['ref']}", ""]
    out += [
        f"- **Flavor:** {v['flavor']}",
        f"- **Registered:** {v['created_at']}",
        f"- **Status:** {v['status']}",
        f"- **Aliases:** {', '.join(v['aliases']) or 'none'}",
        f"- **Size:** {v['size_bytes'] / 1e6:.3f} MB (`{v['digest'][:19]}…`)",
    ]
    if v["git_commit"]:
        dirty = " (uncommitted changes)" if v["git_dirty"] else ""
        out.append(f"- **Code:** git {v['git_commit'][:12]}{dirty}")
    if v["run_id"]:
        out.append(f"- **Training run:** {v['run_id']}")
    intended = v["description"] or "_No description was given at registration._"
    out += ["", "## Intended use", "", intended, "", "## Training data", ""]
    for t in card["training_data"]:
        ident = f" (dataset version {t['dataset_version_id']})" if t["dataset_version_id"] else ""
        out += [f"### {t['label']}{ident}", "", f"{t['rows']} rows.", ""]
        rows = [[col, s.get("dtype"), s.get("nulls"), _summary(s)] for col, s in t["stats"].items()]
        out += _table(["column", "dtype", "nulls", "summary"], rows)
    if not card["training_data"]:
        out += ["_No training data was recorded._", ""]
    out += ["## Metrics", ""]
    metrics = dict(v["metrics"])
    report = card["report"]
    if report:
        metrics.update(
            {k: x for k, x in report["metrics"].items() if not isinstance(x, (list, dict))}
        )
    if metrics:
        out += _table(["metric", "value"], [[k, x] for k, x in sorted(metrics.items())])
    else:
        out += ["_No metrics recorded._", ""]
    if report:
        out += _report_markdown(report)
    if card["promotions"]:
        out += ["## Promotions", ""]
        rows = [
            [
                p["created_at"][:19],
                p["alias"],
                "forced" if p["forced"] else ("applied" if p["applied"] else "refused"),
                p["reason"],
            ]
            for p in card["promotions"]
        ]
        out += _table(["when", "alias", "result", "reason"], rows)
    out += ["## Signature", ""]
    sig = v["signature"]
    if sig:
        rows = [
            [
                i["name"],
                (i.get("kind") or i.get("dtype"))
                + (f" {tuple(i['shape'])}" if "shape" in i else ""),
            ]
            for i in sig["inputs"]
        ]
        out += _table(["input", "type"], rows)
        if sig["outputs"]:
            rows = [[o["name"], o["dtype"], str(tuple(o["shape"]))] for o in sig["outputs"]]
            out += _table(["output", "dtype", "shape"], rows)
    else:
        out += ["_No signature: inputs are not validated._", ""]
    out += ["## Lineage", ""]
    edges = [f"- {e['src']} —{e['relation']}→ {e['dst']}" for e in card["lineage"]]
    out += edges or ["_No upstream objects recorded._"]
    out.append("")
    return "\n".join(out)


def _report_markdown(report: dict[str, Any]) -> list[str]:
    verdict = "passed" if report["passed"] else "FAILED"
    out = [
        f"## Evaluation on {report['dataset']['label']}",
        "",
        f"Task: {report['task']}, target `{report['target']}`, {report['dataset']['rows']} rows; "
        f"suite {verdict}.",
        "",
    ]
    if report.get("checks"):
        rows = [[c["name"], _mark(c["passed"]), c.get("value")] for c in report["checks"]]
        out += _table(["check", "result", "value"], rows)
    if report.get("slices"):
        rows = [
            [
                s["column"],
                s["value"],
                s["n"],
                s["metric"],
                s["score"],
                "yes" if s["flagged"] else "",
            ]
            for s in report["slices"]
        ]
        headers = ["column", "slice", "rows", "metric", "value", "flagged"]
        out += ["### Slices", "", *_table(headers, rows)]
    if report.get("behavioral"):
        rows = [
            [b["name"], b["kind"], _mark(b["passed"]), f"{b['failures']}/{b['n']}"]
            for b in report["behavioral"]
        ]
        out += ["### Behavioral tests", "", *_table(["test", "kind", "result", "failures"], rows)]
    if report.get("data_checks"):
        out += ["### Data checks", ""]
        out += [
            f"- {'✔' if d['passed'] else '✘'} {d['name']}: {d['message']}"
            for d in report["data_checks"]
        ]
        out.append("")
    op = report.get("operational") or {}
    if op:
        out += [
            "### Operational",
            "",
            f"- p95 latency at batch 1: {_fmt(op.get('p95_latency_ms'))} ms",
            f"- size: {_fmt(op.get('size_mb'))} MB",
            "",
        ]
    return out


def _summary(s: dict[str, Any]) -> str:
    if "mean" in s:
        span = f"[{_fmt(s['min'])}, {_fmt(s['max'])}]"
        return f"mean {_fmt(s['mean'])}, std {_fmt(s['std'])}, range {span}"
    if "true_rate" in s:
        return f"true {_fmt(s['true_rate'])}"
    top = ", ".join(f"{k} ({n})" for k, n in list(s.get("top", {}).items())[:3])
    return f"{s.get('unique')} distinct; top: {top}"


def render_html(card: dict[str, Any]) -> str:
    """A standalone HTML page: the Markdown's tables, headings and lists, escaped."""
    md = render_markdown(card)
    body: list[str] = []
    in_table = in_list = False
    for line in md.splitlines():
        if line.startswith("| ---"):
            continue
        if line.startswith("|"):
            cells = [_inline(c.strip()) for c in line.strip("|").split("|")]
            if not in_table:
                body.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
                in_table = True
            else:
                body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    if in_list:
        body.append("</ul>")
    title = html.escape(card["version"]["ref"])
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;"
        "padding:0 1em;color:#1b2330}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccd;padding:.25em .6em;text-align:left}"
        "th{background:#f2f4f8}code{background:#f2f4f8;padding:0 .2em}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Model card {title}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _inline(text: str) -> str:
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return re.sub(r"(?<![\w*])_(.+?)_(?![\w*])", r"<em>\1</em>", t)
