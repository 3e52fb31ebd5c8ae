"""What every CLI command shares: the workspace options, the console, error printing."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from ..core import ShipyardError

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    home: str | None = None
    db: str | None = None
    blobs: str | None = None
    debug: bool = False
    _ws: Any = field(default=None, repr=False)


state = CliState()


def workspace() -> Any:
    """The Workspace named by the global options (opened once per command)."""
    if state._ws is None:
        from .._workspace import Workspace

        state._ws = Workspace(state.home, db=state.db, blobs=state.blobs)
    return state._ws


def reset_state() -> None:
    if state._ws is not None:
        state._ws.close()
    state.home = state.db = state.blobs = None
    state.debug = False
    state._ws = None


class ShipyardGroup(TyperGroup):
    """Root command group: ShipyardError → message on stderr, exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ShipyardError as exc:
            if state.debug:
                raise
            err_console.print(
                f"[bold red]error:[/] {type(exc).__name__}: {exc.message}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(code=1) from None


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    console.print(table)


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


@contextmanager
def progress(transient: bool = True) -> Iterator[Progress]:
    """A Rich progress display for long operations (files hashed, bytes copied…)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    ) as p:
        yield p
