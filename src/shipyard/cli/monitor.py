"""Monitoring commands: ``shipyard monitor create / ls / run / status / alerts / report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import console, print_json, print_table, workspace

app = typer.Typer(
    help="Monitors: drift, live performance, service health, alerts.", no_args_is_help=True
)


def _f(v: Any, fmt: str = ".3f") -> str:
    return "" if v is None else format(v, fmt)


@app.command()
def create(
    name: str = typer.Argument(..., help="Monitor name."),
    model: str = typer.Option(..., "--model", "-m", help="Registered model name."),
    version: int = typer.Option(None, "--version", help="Only this version (default: all)."),
    reference: str = typer.Option(
        None, "--reference", "-r", help="Reference dataset ref (default: the training data)."
    ),
    column: list[str] = typer.Option(None, "--column", "-c", help="Columns to check."),
    window: str = typer.Option("1h", "--window", "-w", help="Window: 15m, 1h, 1d…"),
    schedule: str = typer.Option("*/5 * * * *", "--schedule", help="Cron schedule."),
    rule: list[str] = typer.Option(None, "--rule", help="Alert rule, e.g. 'drift_share > 0.3'."),
    webhook: list[str] = typer.Option(None, "--webhook", help="POST alerts to this URL."),
    retrain: str = typer.Option(
        None, "--retrain", help="Pipeline run on firing alerts, e.g. flows/train.py:training."
    ),
    target: str = typer.Option(None, "--target", help="Label column of the reference."),
    server_url: str = typer.Option(None, "--server-url", help="Probe this server's health."),
    cooldown: str = typer.Option("15m", "--cooldown", help="Quiet time after an alert resolves."),
) -> None:
    """Create a monitor (reference statistics are computed once, here)."""
    notifiers: list[dict[str, Any]] = [{"type": "log"}]
    notifiers += [{"type": "webhook", "url": u} for u in webhook or []]
    if retrain:
        notifiers.append({"type": "pipeline", "target": retrain})
    m = workspace().monitors.create(
        name,
        model=model,
        version=version,
        reference=reference,
        columns=list(column) if column else None,
        window=window,
        schedule=schedule or None,
        rules=list(rule or []),
        notifiers=notifiers,
        target=target,
        server_url=server_url,
        cooldown=cooldown,
    )
    console.print(
        f"created monitor [bold]{m.name}[/] on {m.model}: {len(m.columns or [])} columns, "
        f"reference {m.reference.get('ref') or m.reference.get('kind')}, window {m.window_s}s"
    )


@app.command("ls")
def ls(
    model: str = typer.Option(None, "--model", "-m", help="Only monitors of this model."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List monitors."""
    ms = workspace().monitors.list(model)
    if as_json:
        print_json([m.to_dict() for m in ms])
        return
    if not ms:
        console.print("no monitors yet; create one with: shipyard monitor create NAME --model M")
        return
    print_table(
        None,
        ["name", "model", "columns", "window", "schedule", "rules", "last run"],
        [
            (
                m.name,
                m.model + ("" if m.version is None else f"@{m.version}"),
                len(m.columns or []),
                f"{m.window_s}s",
                m.schedule,
                len(m.rules),
                m.last_run_at.strftime("%Y-%m-%d %H:%M:%S") if m.last_run_at else "never",
            )
            for m in ms
        ],
    )


def _print_check(c: dict[str, Any]) -> None:
    console.print(
        f"[bold]{c.get('monitor', '')}[/] {c['window_start']} .. {c['window_end']}: "
        f"{c['rows']} rows, status [bold]{c['status']}[/], drift share "
        f"{_f(c['drift_share'], '.2f') or 'n/a'}"
    )
    if c.get("message"):
        console.print(c["message"])
    cols = c.get("columns") or {}
    if cols:
        print_table(
            None,
            ["column", "test", "statistic", "threshold", "PSI", "drifted"],
            [
                (
                    k,
                    v["test"],
                    _f(v["statistic"], ".4g"),
                    v["threshold"],
                    _f(v["psi"]),
                    "[red]yes[/]" if v["drifted"] else "no",
                )
                for k, v in sorted(cols.items())
            ],
        )
    for a in c.get("alerts") or []:
        console.print(f"alert {a['state']}: {a['rule']} (value {a['value']})")


@app.command()
def run(
    name: str = typer.Argument(..., help="Monitor name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check the latest window now."""
    c = workspace().monitors.run(name)
    if as_json:
        print_json(c)
    else:
        _print_check(c)


@app.command()
def due(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Run every monitor whose schedule has ticked since its last run (for cron)."""
    checks = workspace().monitors.run_due()
    if as_json:
        print_json(checks)
        return
    if not checks:
        console.print("no monitor due")
    for c in checks:
        _print_check(c)


@app.command()
def status(
    name: str = typer.Argument(..., help="Monitor name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The monitor, its last check and its firing alerts."""
    s = workspace().monitors.status(name)
    if as_json:
        print_json(s)
        return
    m = s["monitor"]
    console.print(f"[bold]{m['name']}[/] on {m['model']}, rules: {', '.join(m['rules']) or 'none'}")
    if s["last_check"]:
        _print_check(s["last_check"])
    else:
        console.print(f"no check yet; run: shipyard monitor run {m['name']}")
    for a in s["firing"]:
        console.print(f"[red]firing[/] since {a['fired_at']}: {a['rule']} (value {a['value']})")


@app.command()
def alerts(
    name: str = typer.Argument(None, help="Monitor (default: all)."),
    state: str = typer.Option(None, "--state", help="firing or resolved."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Alert history, newest first."""
    rows = workspace().monitors.alerts(name, state=state)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no alerts")
        return
    print_table(
        None,
        ["monitor", "rule", "state", "value", "fired", "resolved"],
        [
            (a["monitor"], a["rule"], a["state"], a["value"], a["fired_at"], a["resolved_at"])
            for a in rows
        ],
    )


@app.command()
def report(
    name: str = typer.Argument(..., help="Monitor name."),
    output: Path = typer.Option(
        Path("drift-report.html"), "--output", "-o", help="HTML file to write."
    ),
) -> None:
    """Write a standalone HTML drift report of the latest check."""
    from ..monitoring import drift_report_html

    output.write_text(drift_report_html(workspace(), name), encoding="utf-8")
    console.print(f"wrote {output}")


@app.command()
def labels(
    name: str = typer.Argument(..., help="Monitor name."),
    file: Path = typer.Argument(..., help="CSV or JSON lines with request_id and label."),
) -> None:
    """Log ground-truth labels for served requests."""
    import pandas as pd

    df = pd.read_csv(file) if file.suffix == ".csv" else pd.read_json(file, lines=True)
    n = workspace().monitors.log_labels(
        name, df["request_id"].astype(str).tolist(), df["label"].tolist()
    )
    console.print(f"logged {n} labels")
