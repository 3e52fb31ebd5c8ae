"""``shipyard runs``: list/search, show, compare, artifacts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from ._common import console, print_json, print_table, workspace

app = typer.Typer(help="Tracked runs: search, inspect, compare.", no_args_is_help=True)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.6g}"
    return "" if v is None else str(v)


@app.command("ls")
def ls(
    experiment: list[str] = typer.Option(None, "--experiment", "-e", help="Experiment name(s)."),
    filter: str = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.auc > 0.8 and params.model in ('rf','gbm')\""
    ),
    order_by: list[str] = typer.Option(None, "--order-by", "-o", help="e.g. 'metrics.auc desc'."),
    max_results: int = typer.Option(50, "--max", "-n", help="How many runs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List runs, newest first, or those matching --filter, ordered by --order-by."""
    page = workspace().runs.search(
        experiments=experiment or None,
        filter=filter,
        order_by=order_by or None,
        max_results=max_results,
    )
    if as_json:
        print_json([r.to_dict() for r in page])
        return
    metric_keys = sorted({k for r in page for k in r.metrics})[:6]
    print_table(
        f"Runs ({len(page)}{'+' if page.next_page_token else ''})",
        ["id", "experiment", "name", "status", "started", *metric_keys],
        [
            (
                r.id,
                r.experiment,
                r.name,
                r.status,
                r.start_time.strftime("%Y-%m-%d %H:%M:%S"),
                *[_fmt(r.metrics.get(k)) for k in metric_keys],
            )
            for r in page
        ],
    )


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help="Run id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Status, params, tags and metric summaries of one run."""
    run = workspace().runs.get(run_id)
    if as_json:
        print_json(run.to_dict())
        return
    dur = run.duration_s
    print_table(
        f"Run {run.id}",
        ["field", "value"],
        [
            ("experiment", run.experiment),
            ("name", run.name),
            ("status", run.status),
            ("started", run.start_time.isoformat()),
            ("ended", run.end_time.isoformat() if run.end_time else ""),
            ("duration", f"{dur:.1f} s" if dur is not None else ""),
            ("parent", run.parent_id or ""),
            ("error", run.error or ""),
        ],
    )
    if run.params:
        print_table("Params", ["key", "value"], sorted((k, _fmt(v)) for k, v in run.params.items()))
    if run.tags:
        print_table("Tags", ["key", "value"], sorted(run.tags.items()))
    sums = run.metric_summaries()
    if sums:
        print_table(
            "Metrics",
            ["key", "last", "min", "max", "count", "last step"],
            [
                (k, _fmt(s["last"]), _fmt(s["min"]), _fmt(s["max"]), s["count"], s["last_step"])
                for k, s in sorted(sums.items())
            ],
        )


@app.command("compare")
def compare(runs: list[str] = typer.Argument(..., help="Two or more run ids.")) -> None:
    """Params that differ between runs, and their metrics side by side."""
    c = workspace().runs.compare(runs)
    header = ["", *[f"{c.names[r]} ({r[-6:]})" for r in c.run_ids]]
    rows: list[list[str]] = [
        [f"params.{k}", *[_fmt(v.get(r)) for r in c.run_ids]] for k, v in c.params.items()
    ]
    rows += [
        [f"metrics.{k}", *[_fmt((v.get(r) or {}).get("last")) for r in c.run_ids]]
        for k, v in c.metrics.items()
    ]
    print_table("Comparison (differing params, last metric values)", header, rows)
    if c.same_params:
        console.print(
            "same params: " + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(c.same_params.items()))
        )


@app.command("artifacts")
def artifacts(
    run_id: str = typer.Argument(..., help="Run id."),
    download: Path = typer.Option(None, "--download", "-d", help="Download them into this folder."),
    path: str = typer.Option("", "--path", "-p", help="Only this file or folder."),
) -> None:
    """List a run's artifacts, or download them."""
    run = workspace().runs.get(run_id)
    if download is not None:
        local = run.download_artifacts(path, download)
        console.print(f"[green]downloaded[/] to {local}")
        return
    print_table(
        f"Artifacts of {run.id}",
        ["path", "size", "digest"],
        [(a.path, a.size, a.digest[:19]) for a in run.artifacts(path)],
    )
