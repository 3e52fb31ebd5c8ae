"""``shipyard gc``: remove blobs that no dataset version, run or model references."""

from __future__ import annotations

import typer

from ..store._gc import DEFAULT_GRACE_S, collect_garbage
from ._common import console, print_json, workspace

app = typer.Typer(
    help="Remove unreferenced blobs (dry run unless --yes).",
    invoke_without_command=True,
)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


@app.callback()
def gc(
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete (default: only report)."),
    grace: float = typer.Option(
        DEFAULT_GRACE_S,
        "--grace",
        help="Keep unreferenced blobs younger than this many seconds (a commit may be "
        "about to reference them).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find blobs nothing references; delete them with --yes."""
    ws = workspace()
    report = collect_garbage(ws.db, ws.blobs, dry_run=not yes, grace_seconds=grace)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"{report.scanned} blobs: {report.referenced} referenced, {report.recent} recent "
        f"(younger than {grace:g}s, kept), {len(report.unreferenced)} unreferenced "
        f"({_size(report.reclaimable_bytes)})"
    )
    if yes:
        console.print(
            f"[green]deleted[/] {report.deleted} blobs, freed {_size(report.freed_bytes)}"
            + (f"; removed {report.tmp_removed} stale temp files" if report.tmp_removed else "")
        )
    elif report.unreferenced:
        console.print("dry run: nothing deleted; run [bold]shipyard gc --yes[/] to delete them")
