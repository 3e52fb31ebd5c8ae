"""Shipyard quickstart: the end-to-end tour of what exists, on the embedded default.

Run it with ``make demo`` (or ``python examples/quickstart.py``). It uses a workspace in
``./.shipyard-demo`` unless ``--home`` says otherwise; ``--fresh`` starts from scratch.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import shipyard as sy
from shipyard.store import Node

console = Console()


def step(title: str) -> float:
    console.rule(f"[bold]{title}")
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", default=".shipyard-demo", help="workspace folder")
    parser.add_argument("--fresh", action="store_true", help="delete the workspace first")
    args = parser.parse_args()
    home = Path(args.home)
    if args.fresh and home.exists():
        shutil.rmtree(home)

    timings: list[tuple[str, float]] = []

    t = step("1. Workspace")
    ws = sy.Workspace(home)
    console.print(
        f"workspace at {ws.home} (metadata: {ws.db.backend}, blobs: {ws.settings.blob_backend})"
    )
    timings.append(("workspace", time.perf_counter() - t))

    t = step("2. Blob store and lineage")
    note = f"raw data snapshot taken at {time.ctime()}".encode()
    digest = ws.blobs.put_bytes(note)
    raw = Node("blob", digest, "raw-note.txt")
    report = Node("report", digest[7:19], "summary report")
    ws.lineage.record(raw, report, "summarized_as")
    up = ws.lineage.upstream(report)
    console.print(
        f"stored {len(note)} bytes as {digest[:19]}…; "
        f"lineage of the report reaches {len(up.nodes) - 1} upstream object(s)"
    )
    timings.append(("blobs + lineage", time.perf_counter() - t))

    t = step("3. Workspace info")
    info = ws.info()
    table = Table("kind", "count")
    for k, v in sorted(info["counts"].items()):
        table.add_row(k, str(v))
    console.print(table)
    timings.append(("info", time.perf_counter() - t))

    summary = Table("step", "seconds", title="Quickstart summary")
    for name, secs in timings:
        summary.add_row(name, f"{secs:.2f}")
    console.print(summary)
    console.print(
        f"Next: [bold]shipyard --home {ws.home} server[/] and open http://127.0.0.1:8000/"
    )
    ws.close()


if __name__ == "__main__":
    main()
