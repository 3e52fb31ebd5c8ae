"""Shipyard quickstart: the end-to-end tour on the embedded default (SQLite + local blobs).

``make demo`` runs it. Each stage lives in ``examples/steps/<stage>.py`` (each also runs
on its own); this script runs them in lifecycle order on one workspace, prints one line
per stage with its key figures, and a summary table at the end.

    python examples/quickstart.py                 # fresh workspace in ./.shipyard-demo
    python examples/quickstart.py --reuse         # keep what an earlier run left
    python examples/quickstart.py --only data,tracking
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

import shipyard as sy

STEPS_DIR = Path(__file__).parent / "steps"

STAGES: list[tuple[str, str]] = [
    ("data", "Data: churn for two periods, validated, versioned, split"),
    ("labels", "Labeling: a simulated crowd, agreement, Dawid-Skene"),
    ("features", "Features: point-in-time training set, online store"),
    ("pipelines", "Pipelines: training DAG, cached on re-run"),
    ("tracking", "Tracking: models trained in tracked runs, best found by search"),
    ("tuning", "Tuning: TPE + ASHA in parallel trials"),
    ("registry", "Registry: evaluate, promote champion, a gate refuses a weaker model"),
    ("export", "Export: ONNX, quantized, registered"),
    ("serving", "Serving: the champion behind the model server, traffic from both periods"),
    ("monitoring", "Monitoring: drift in the served traffic, an alert, retraining"),
]

console = Console()


def _load(name: str) -> ModuleType | None:
    path = STEPS_DIR / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"shipyard_demo_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # steps pickle their own functions by value
    spec.loader.exec_module(module)
    return module


def _figures(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    parts = []
    for key, value in result.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, (dict, list)):
            continue
        parts.append(f"{key}={value}")
    return ", ".join(parts)[:160]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Shipyard end-to-end quickstart.")
    parser.add_argument("--home", default=".shipyard-demo", help="workspace folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the workspace of an earlier run (default: start fresh)",
    )
    parser.add_argument("--only", default="", help="comma-separated stages to run")
    args = parser.parse_args(argv)

    home = Path(args.home).resolve()
    if home.exists() and not args.reuse:
        shutil.rmtree(home)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {name for name, _ in STAGES}
    if unknown:
        parser.error(
            f"unknown stage(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(n for n, _ in STAGES)}"
        )

    started = time.perf_counter()
    ws = sy.Workspace(home)
    console.print(
        f"[bold]Shipyard {sy.__version__}[/] workspace {ws.home} "
        f"(metadata {ws.db.backend}, blobs {ws.settings.blob_backend})"
    )
    summary: list[tuple[str, str, str]] = []
    for name, title in STAGES:
        if only and name not in only:
            continue
        module = _load(name)
        if module is None:
            continue
        console.rule(f"[bold]{title}")
        t = time.perf_counter()
        result = module.run(ws, console)
        secs = time.perf_counter() - t
        figures = _figures(result)
        console.print(f"[green]✓ {name}[/] in {secs:.1f}s  {figures}")
        summary.append((name, f"{secs:.1f}", figures))

    table = Table(title="Quickstart summary", show_lines=False)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("key figures", overflow="fold")
    for row in summary:
        table.add_row(*row)
    table.add_row("total", f"{time.perf_counter() - started:.1f}", "")
    console.print(table)
    counts = ws.info()["counts"]
    console.print("objects: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v))
    console.print(
        f"Explore: [bold]shipyard --home {ws.home} server[/] then open http://127.0.0.1:8000/"
    )
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
