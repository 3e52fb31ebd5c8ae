"""``shipyard experiments``: list and create experiments."""

from __future__ import annotations

import typer

from ._common import console, print_json, print_table, workspace

app = typer.Typer(help="Experiments: named groups of tracked runs.", no_args_is_help=True)


@app.command("ls")
def ls(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List experiments with their run counts."""
    exps = workspace().experiments.list()
    if as_json:
        print_json([e.to_dict() for e in exps])
        return
    print_table(
        "Experiments",
        ["name", "id", "runs", "last run", "description"],
        [
            (
                e.name,
                e.id,
                e.run_count,
                e.last_run_at.strftime("%Y-%m-%d %H:%M:%S") if e.last_run_at else "",
                e.description,
            )
            for e in exps
        ],
    )


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Experiment name."),
    description: str = typer.Option("", "--description", "-d", help="What it is about."),
) -> None:
    """Create an experiment (runs create theirs on first use too)."""
    exp = workspace().experiments.create(name, description)
    console.print(f"[green]created[/] experiment {exp.name} ({exp.id})")
