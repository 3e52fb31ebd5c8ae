"""The ``shipyard`` command: workspace options, ``init``, ``info``, ``server``.

Each service adds its own sub-command group in ``shipyard/cli/<area>.py``; they are
listed in ``SUBCOMMANDS`` below. Commands parse, call one service method and format.
"""

from __future__ import annotations

import importlib

import typer

from .._version import __version__
from ._common import ShipyardGroup, console, print_table, state, workspace

app = typer.Typer(
    name="shipyard",
    cls=ShipyardGroup,
    help="Shipyard: from raw data to a monitored production model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

SUBCOMMANDS: list[tuple[str, str]] = [
    ("shipyard.cli.models", "models"),
    ("shipyard.cli.labels", "labels"),
    ("shipyard.cli.jobs", "jobs"),
    ("shipyard.cli.pipelines", "pipelines"),
    ("shipyard.cli.features", "features"),
    ("shipyard.cli.experiments", "experiments"),
    ("shipyard.cli.runs", "runs"),
    ("shipyard.cli.data", "data"),
    ("shipyard.cli.gc", "gc"),
    ("shipyard.cli.tune", "tune"),
    ("shipyard.cli.export", "export"),
    ("shipyard.cli.monitor", "monitor"),
]
"""(module, name) of every sub-command group; each module defines ``app``."""


def _version(value: bool) -> None:
    if value:
        console.print(f"shipyard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: str = typer.Option(
        None, "--home", "-w", envvar="SHIPYARD_HOME", help="Workspace folder (default ./.shipyard)."
    ),
    db: str = typer.Option(
        None,
        "--db",
        envvar="SHIPYARD_DB_URL",
        help="Metadata DB URL (sqlite:///… or postgresql://…).",
    ),
    blobs: str = typer.Option(
        None,
        "--blobs",
        envvar="SHIPYARD_BLOB_URL",
        help="Blob store URL (a folder or s3://bucket/prefix).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state.home, state.db, state.blobs, state.debug = home, db, blobs, debug


@app.command()
def init() -> None:
    """Create (or open) the workspace and apply migrations."""
    ws = workspace()
    info = ws.info()
    console.print(
        f"[green]workspace ready[/] {info['home']} "
        f"(db {info['db']['backend']}, blobs {info['blobs']['backend']}, "
        f"schema {info['schema_revision']})"
    )


@app.command()
def info(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Where the workspace is, its backends, schema version and object counts."""
    data = workspace().info()
    if as_json:
        from ._common import print_json

        print_json(data)
        return
    print_table(
        "Workspace",
        ["setting", "value"],
        [
            ("id", data["id"]),
            ("home", data["home"]),
            ("metadata db", f"{data['db']['backend']}  {data['db']['url']}"),
            ("blob store", f"{data['blobs']['backend']}  {data['blobs']['url']}"),
            (
                "online store",
                f"{data['online_store']['backend']}  {data['online_store']['url']}",
            ),
            ("schema revision", data["schema_revision"]),
        ],
    )
    print_table("Objects", ["kind", "count"], sorted(data["counts"].items()))


@app.command()
def server(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    scheduler: bool = typer.Option(
        False, "--scheduler", help="Also trigger scheduled pipeline runs in this process."
    ),
) -> None:
    """Run the REST API and the web UI."""
    import uvicorn

    from ..server import create_app

    ws = workspace()
    console.print(
        f"Shipyard UI on [link]http://{host}:{port}/[/link]  (API docs: http://{host}:{port}/docs)"
    )
    if scheduler:
        from ..pipelines import Scheduler

        Scheduler(ws).start()
        console.print("scheduler running: due pipeline runs start in this process")
    uvicorn.run(create_app(ws), host=host, port=port, log_level=log_level)


for _module, _name in SUBCOMMANDS:
    app.add_typer(importlib.import_module(_module).app, name=_name)

app.command("scheduler")(importlib.import_module("shipyard.cli.pipelines").scheduler)
app.command("serve")(importlib.import_module("shipyard.cli.serve").serve)
