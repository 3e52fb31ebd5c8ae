"""``shipyard pipelines``: run, list, show, resume pipelines; manage schedules."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.live import Live
from rich.table import Table

from ._common import console, print_json, print_table, workspace

app = typer.Typer(help="DAG pipelines with caching, resume and schedules.", no_args_is_help=True)
schedule_app = typer.Typer(help="Run pipelines on a cron schedule.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

_COLORS = {
    "pending": "dim",
    "running": "yellow",
    "retrying": "magenta",
    "succeeded": "green",
    "cached": "cyan",
    "failed": "red",
    "skipped": "dim red",
    "cancelled": "red",
}


class _LiveView:
    """A Rich table of step states, refreshed as events arrive (grouped when large)."""

    def __init__(self, names: list[str]) -> None:
        self.state = dict.fromkeys(names, "pending")
        self.started = time.monotonic()

    def __call__(self, name: str, status: str, info: dict[str, Any]) -> None:
        self.state[name] = status

    def render(self) -> Table:
        table = Table(title=f"steps ({time.monotonic() - self.started:.1f}s)", header_style="bold")
        if len(self.state) <= 30:
            table.add_column("step")
            table.add_column("state")
            for name, s in self.state.items():
                table.add_row(name, f"[{_COLORS.get(s, '')}]{s}[/]")
            return table
        counts: dict[str, int] = {}
        for s in self.state.values():
            counts[s] = counts.get(s, 0) + 1
        table.add_column("state")
        table.add_column("steps")
        for s, n in sorted(counts.items()):
            table.add_row(f"[{_COLORS.get(s, '')}]{s}[/]", str(n))
        return table


def _print_run(run: Any) -> None:
    color = "green" if run.status == "succeeded" else "red"
    console.print(
        f"pipeline run [bold]{run.id}[/] ({run.pipeline}) [{color}]{run.status}[/]"
        + (f" in {run.duration_s:.2f}s" if run.duration_s is not None else "")
        + f"; {run.cached_steps} of {len(run.steps)} steps cached",
        highlight=False,
        soft_wrap=True,
    )
    if run.error:
        console.print(f"[red]{run.error}[/]", highlight=False)


def _run_live(start: Any, names: list[str]) -> Any:
    view = _LiveView(names)
    with Live(view.render(), console=console, refresh_per_second=8, transient=False) as live:
        import threading

        stop = threading.Event()

        def refresh() -> None:
            while not stop.wait(0.125):
                live.update(view.render())

        t = threading.Thread(target=refresh, daemon=True)
        t.start()
        try:
            run = start(view)
        finally:
            stop.set()
            t.join()
            live.update(view.render())
    if not console.is_terminal:
        console.print()
    return run


@app.command()
def run(
    target: str = typer.Argument(..., help="FILE.py:PIPELINE or module:PIPELINE."),
    param: list[str] = typer.Option(None, "--param", "-p", help="A parameter: name=value."),
    executor: str = typer.Option("local", "--executor", "-e", help="inline, local or ray."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live view."),
) -> None:
    """Run a pipeline with a live view of its steps."""
    from ..pipelines import load_target, parse_params

    ws = workspace()
    pipe = load_target(target)
    params = parse_params(param)
    if quiet:
        result = ws.pipelines.run(pipe, params=params, executor=executor)
    else:
        dag, _ = pipe.build(params)
        names = [n.name for n in dag.nodes]
        result = _run_live(
            lambda view: ws.pipelines.run(pipe, params=params, executor=executor, on_event=view),
            names,
        )
    _print_run(result)
    if result.status != "succeeded":
        raise typer.Exit(1)


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="The run to finish."),
    executor: str = typer.Option(None, "--executor", "-e", help="Another executor."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live view."),
) -> None:
    """Re-run only the steps of RUN that did not finish."""
    ws = workspace()
    old = ws.pipelines.get(run_id)
    if quiet:
        result = ws.pipelines.resume(old.id, executor=executor)
    else:
        result = _run_live(
            lambda view: ws.pipelines.resume(old.id, executor=executor, on_event=view),
            [s.name for s in old.steps],
        )
    _print_run(result)
    if result.status != "succeeded":
        raise typer.Exit(1)


@app.command("ls")
def list_runs(
    pipeline: str = typer.Option(None, "--pipeline", help="Only runs of this pipeline."),
    status: str = typer.Option(None, help="Only runs with this status."),
    limit: int = typer.Option(30, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Pipeline runs, newest first."""
    runs = workspace().pipelines.list(pipeline, status=status, limit=limit)
    if as_json:
        print_json([r.to_dict(steps=False) for r in runs])
        return
    print_table(
        "Pipeline runs",
        ["id", "pipeline", "status", "steps", "executor", "started", "duration"],
        [
            (
                r.id,
                r.pipeline,
                r.status,
                r.n_steps,
                r.executor,
                r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{r.duration_s:.2f}s" if r.duration_s is not None else "",
            )
            for r in runs
        ],
    )


@app.command()
def show(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A run and its steps (status, cache, duration, error)."""
    r = workspace().pipelines.get(run_id)
    if as_json:
        print_json(r.to_dict())
        return
    _print_run(r)
    print_table(
        None,
        ["step", "status", "cached", "attempts", "duration", "outputs", "error"],
        [
            (
                s.name,
                s.status,
                "cached" if s.cached else "",
                s.attempts,
                f"{s.duration_s:.3f}s" if s.duration_s is not None else "",
                ", ".join(f"{k}: {v.get('preview') or ''}"[:40] for k, v in s.outputs.items()),
                (s.error or "")[:80],
            )
            for s in r.steps
        ],
    )


@schedule_app.command("add")
def schedule_add(
    target: str = typer.Argument(..., help="FILE.py:PIPELINE."),
    cron: str = typer.Option(..., "--cron", help="Cron expression (UTC), e.g. '0 * * * *'."),
    param: list[str] = typer.Option(None, "--param", "-p", help="A parameter: name=value."),
    name: str = typer.Option(None, "--name", help="Schedule name (default: the pipeline's)."),
    executor: str = typer.Option("local", "--executor", "-e", help="inline, local or ray."),
    catchup: str = typer.Option("latest", "--catchup", help="Missed ticks: latest, all or none."),
) -> None:
    """Schedule a pipeline."""
    from ..pipelines import parse_params

    s = workspace().pipelines.schedules.add(
        target, cron, name=name, params=parse_params(param), executor=executor, catchup=catchup
    )
    console.print(f"schedule [bold]{s['name']}[/] added: {s['cron']} → {s['target']}")


@schedule_app.command("ls")
def schedule_ls(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Schedules with their last and next ticks."""
    rows = workspace().pipelines.schedules.list()
    if as_json:
        print_json(rows)
        return
    print_table(
        "Schedules",
        ["name", "cron", "target", "params", "catchup", "last tick", "next tick"],
        [
            (
                r["name"],
                r["cron"],
                r["target"],
                r["params"],
                r["catchup"],
                r["last_tick"],
                r["next_tick"],
            )
            for r in rows
        ],
    )


@schedule_app.command("rm")
def schedule_rm(name: str = typer.Argument(..., help="Schedule name.")) -> None:
    """Remove a schedule."""
    workspace().pipelines.schedules.remove(name)
    console.print(f"schedule {name} removed")


def scheduler(
    interval: float = typer.Option(15.0, help="Seconds between checks."),
    once: bool = typer.Option(False, "--once", help="Trigger due ticks once and exit."),
) -> None:
    """Trigger scheduled pipeline runs (each tick once, even with several schedulers)."""
    from ..pipelines import Scheduler

    ws = workspace()
    if once:
        runs = ws.pipelines.schedules.run_due()
        console.print(f"{len(runs)} run(s) started: {', '.join(runs)}")
        return
    console.print(f"scheduler running (every {interval:g}s); Ctrl-C stops it")
    s = Scheduler(ws, interval)
    try:
        s.run_forever(on_runs=lambda runs: console.print(f"started runs: {', '.join(runs)}"))
    except KeyboardInterrupt:
        s.stop()
