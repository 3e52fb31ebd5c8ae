"""Shipyard quickstart: the end-to-end tour on the embedded default (SQLite + local blobs).

``make demo`` runs it. Each stage lives in ``examples/steps/<stage>.py`` (each also runs
on its own); this script runs them in lifecycle order on one workspace, prints one line
per stage with its key figures, and a summary table at the end.

    python examples/quickstart.py                 # fresh workspace in ./.shipyard-demo
    python examples/quickstart.py --reuse         # keep what an earlier run left
    python examples/quickstart.py --only data,tracking
    python examples/quickstart.py --no-serve      # exit instead of starting the UI

At the end it starts ``shipyard server`` on the workspace and prints the pages to open,
serving until Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
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
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="exit after the summary instead of serving the web UI until Ctrl-C",
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the web UI")
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
    results: dict[str, Any] = {}
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
        results[name] = result if isinstance(result, dict) else {}
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
    pages = pages_to_open(ws, results)
    ws.close()
    if args.no_serve:
        console.print(f"Explore: [bold]shipyard --home {home} server[/], then open:")
        _print_pages(f"http://127.0.0.1:{args.port}", pages)
        return 0
    return serve_ui(home, args.port, pages)


def pages_to_open(ws: sy.Workspace, results: dict[str, Any]) -> list[tuple[str, str]]:
    """The UI pages that show what the stages made: (what, path)."""
    pages: list[tuple[str, str]] = [("home", "/")]
    with _quiet():
        v = ws.datasets.get(results.get("data", {}).get("dataset") or "churn")
        pages.append(("dataset version", f"/datasets/versions/{v.id}"))
    runs = results.get("tracking", {}).get("runs") or []
    if len(runs) >= 2:
        pages.append(
            ("run comparison", "/experiments/compare?" + "&".join(f"runs={r}" for r in runs))
        )
    if study := results.get("tuning", {}).get("study"):
        pages.append(("study", f"/tuning/{study}"))
    with _quiet():
        mv = ws.models.get("churn@champion")
        pages.append(("model with lineage", f"/models/versions/{mv.id}"))
    with _quiet():
        for d in ws.deployments.list():
            pages.append(("deployment", f"/deployments/{d.id}"))
            break
    if monitor := results.get("monitoring", {}).get("monitor"):
        pages.append(("monitoring dashboard", f"/monitoring/{monitor}"))
    return pages


class _quiet:
    """Leave a page out when the stage that makes its object did not run."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return exc_type is not None and issubclass(exc_type, sy.core.ShipyardError)


def _print_pages(base: str, pages: list[tuple[str, str]]) -> None:
    for what, path in pages:
        console.print(f"  {what:<22} {base}{path}", soft_wrap=True, highlight=False)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def serve_ui(home: Path, port: int, pages: list[tuple[str, str]]) -> int:
    """Run ``shipyard server`` on the workspace until Ctrl-C."""
    if not _port_free(port):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = int(s.getsockname()[1])
        console.print(f"port {port} is taken; using {free}")
        port = free
    cmd = [sys.executable, "-m", "shipyard", "--home", str(home), "server", "--port", str(port)]
    proc = subprocess.Popen(cmd)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            console.print(f"[red]shipyard server exited with {proc.returncode}[/]")
            return 1
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                console.print("[red]shipyard server did not answer within 60 s[/]")
                proc.terminate()
                return 1
            time.sleep(0.2)
    console.rule("[bold]Web UI")
    console.print(f"shipyard server is running at [bold]{base}[/]; open:")
    _print_pages(base, pages)
    console.print("Press Ctrl-C to stop.")
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        console.print("stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main())
