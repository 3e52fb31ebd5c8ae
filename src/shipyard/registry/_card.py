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
        out.append(
            f"- **Code:** git {v['git_commit'][:12]}{' (uncommitted changes)' if v['git_dirty'] else ''}"
        )
    if v["run_id"]:
        out.append(f"- **Training run:** {v['run_id']}")
    out += [
        "",
        "## Intended use",
        "",
        v["description"] or "_No description was given at registration._",
        "",
    ]
    out += ["## Training data", ""]
    if card["training_data"]:
        for t in card["training_data"]:
            ident = (
                f" (dataset version {t['dataset_version_id']})" if t["dataset_version_id"] else ""
            )
            out += [
                f"### {t['label']}{ident}",
                "",
                f"{t['rows']} rows.",
                "",
                "| column | dtype | nulls | summary |",
                "| --- | --- | --- | --- |",
            ]
            for col, s in t["stats"].items():
                out.append(f"| {col} | {s.get('dtype')} | {s.get('nulls')} | {_summary(s)} |")
            out.append("")
    else:
        out += ["_No training data was recorded._", ""]
    out += ["## Metrics", ""]
    metrics = dict(v["metrics"])
    report = card["report"]
    if report:
        metrics.update(
            {k: val for k, val in report["metrics"].items() if not isinstance(val, (list, dict))}
        )
    if metrics:
        out += (
            ["| metric | value |", "| --- | --- |"]
            + [f"| {k} | {_fmt(val)} |" for k, val in sorted(metrics.items())]
            + [""]
        )
    else:
        out += ["_No metrics recorded._", ""]
    if report:
        out += [
            f"## Evaluation on {report['dataset']['label']}",
            "",
            f"Task: {report['task']}, target `{report['target']}`, {report['dataset']['rows']} rows; suite {'passed' if report['passed'] else 'FAILED'}.",
            "",
        ]
        if report.get("checks"):
            out += ["| check | result | value |", "| --- | --- | --- |"]
            out += [
                f"| {c['name']} | {'pass' if c['passed'] else 'FAIL'} | {_fmt(c.get('value'))} |"
                for c in report["checks"]
            ]
            out.append("")
        if report.get("slices"):
            out += [
                "### Slices",
                "",
                "| column | slice | rows | metric | value | flagged |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for s in report["slices"]:
                out.append(
                    f"| {s['column']} | {s['value']} | {s['n']} | {s['metric']} | {_fmt(s['score'])} | {'yes' if s['flagged'] else ''} |"
                )
            out.append("")
        if report.get("behavioral"):
            out += [
                "### Behavioral tests",
                "",
                "| test | kind | result | failures |",
                "| --- | --- | --- | --- |",
            ]
            for b in report["behavioral"]:
                out.append(
                    f"| {b['name']} | {b['kind']} | {'pass' if b['passed'] else 'FAIL'} | {b['failures']}/{b['n']} |"
                )
            out.append("")
        if report.get("data_checks"):
            out += (
                ["### Data checks", ""]
                + [
                    f"- {'✔' if d['passed'] else '✘'} {d['name']}: {d['message']}"
                    for d in report["data_checks"]
                ]
                + [""]
            )
        op = report.get("operational") or {}
        if op:
            out += [
                "### Operational",
                "",
                f"- p95 latency at batch 1: {_fmt(op.get('p95_latency_ms'))} ms",
                f"- size: {_fmt(op.get('size_mb'))} MB",
                "",
            ]
    if card["promotions"]:
        out += [
            "## Promotions",
            "",
            "| when | alias | result | reason |",
            "| --- | --- | --- | --- |",
        ]
        for p in card["promotions"]:
            result = "forced" if p["forced"] else ("applied" if p["applied"] else "refused")
            out.append(f"| {p['created_at'][:19]} | {p['alias']} | {result} | {p['reason']} |")
        out.append("")
    out += ["## Signature", ""]
    sig = v["signature"]
    if sig:
        out += ["| input | type |", "| --- | --- |"]
        for i in sig["inputs"]:
            out.append(
                f"| {i['name']} | {i.get('kind') or i.get('dtype')}{' ' + str(tuple(i['shape'])) if 'shape' in i else ''} |"
            )
        if sig["outputs"]:
            out += ["", "| output | dtype | shape |", "| --- | --- | --- |"]
            out += [f"| {o['name']} | {o['dtype']} | {tuple(o['shape'])} |" for o in sig["outputs"]]
        out.append("")
    else:
        out += ["_No signature: inputs are not validated._", ""]
    out += ["## Lineage", ""]
    out += [f"- {e['src']} —{e['relation']}→ {e['dst']}" for e in card["lineage"]] or [
        "_No upstream objects recorded._"
    ]
    out.append("")
    return "\n".join(out)


def _summary(s: dict[str, Any]) -> str:
    if "mean" in s:
        return f"mean {_fmt(s['mean'])}, std {_fmt(s['std'])}, range [{_fmt(s['min'])}, {_fmt(s['max'])}]"
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
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1b2330}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccd;padding:.25em .6em;text-align:left}"
        "th{background:#f2f4f8}code{background:#f2f4f8;padding:0 .2em}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Model card {title}</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _inline(text: str) -> str:
    import re

    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return re.sub(r"(?<![\w*])_(.+?)_(?![\w*])", r"<em>\1</em>", t)
