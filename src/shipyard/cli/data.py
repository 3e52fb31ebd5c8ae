"""``shipyard data``: commit, list, inspect, compare, check out and validate datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..core import InvalidInput
from ._common import console, print_json, print_table, progress, workspace

app = typer.Typer(help="Versioned datasets.", no_args_is_help=True)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _tags(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"invalid --tag {item!r}: write KEY=VALUE")
        out[key] = value
    return out


@app.command()
def commit(
    name: str = typer.Argument(..., help="Dataset name."),
    path: str = typer.Argument(..., help="File, folder, glob or fsspec URL (s3://…)."),
    message: str = typer.Option("", "--message", "-m", help="What changed."),
    tag: list[str] = typer.Option([], "--tag", "-t", help="KEY=VALUE (repeatable)."),
    split: str = typer.Option(None, help="Label this version as a split (train, test…)."),
    allow_empty: bool = typer.Option(False, help="Make a new version even if nothing changed."),
    allow_invalid: bool = typer.Option(False, help="Commit data that breaks the schema."),
) -> None:
    """Commit PATH as the next version of dataset NAME."""
    ws = workspace()
    with progress() as p:
        files = p.add_task("files hashed", total=None)
        nbytes = p.add_task("bytes stored", total=None)

        def report(done: int, total: int, bdone: int, btotal: int) -> None:
            p.update(files, completed=done, total=total)
            p.update(nbytes, completed=bdone, total=btotal)

        v = ws.datasets.commit(
            name,
            path,
            message=message,
            tags=_tags(tag),
            split=split,
            allow_empty=allow_empty,
            allow_invalid=allow_invalid,
            progress=report,
        )
    console.print(
        f"[green]committed[/] {v.ref}  {v.file_count} files, {_size(v.size)}"
        + (f", {v.row_count} rows" if v.row_count is not None else "")
        + f"  {v.digest[:19]}"
    )
    if v.validation is not None and not v.validation["valid"]:
        console.print(
            f"[yellow]stored with a failed validation report:[/]\n{v.validation_report.summary()}"
        )


@app.command("ls")
def ls(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List datasets."""
    items = workspace().datasets.list()
    if as_json:
        print_json([d.to_dict() for d in items])
        return
    print_table(
        "Datasets",
        ["name", "versions", "schema", "updated"],
        [
            (d.name, d.latest_version, "yes" if d.has_schema else "", d.updated_at.isoformat()[:19])
            for d in items
        ],
    )


@app.command()
def log(
    name: str = typer.Argument(..., help="Dataset name."),
    limit: int = typer.Option(None, "--limit", "-n", help="Show at most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the versions of a dataset, newest first."""
    versions = workspace().datasets.log(name, limit=limit)
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    print_table(
        f"{name}: {len(versions)} version(s)",
        ["version", "created", "files", "size", "rows", "digest", "message"],
        [
            (
                v.version,
                v.created_at.isoformat()[:19],
                v.file_count,
                _size(v.size),
                v.row_count,
                v.digest[7:19],
                v.message,
            )
            for v in versions
        ],
    )


@app.command()
def show(
    ref: str = typer.Argument(..., help="name, name@3, name@sha256:… or a version id."),
    files: bool = typer.Option(False, "--files", help="List the files."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a version: summary, schema and column statistics."""
    v = workspace().datasets.get(ref)
    if as_json:
        data = v.to_dict()
        data["profile"] = v.profile
        data["validation"] = v.validation
        if files:
            data["files"] = [f.to_dict() for f in v.files()]
        print_json(data)
        return
    print_table(
        f"{v.ref}",
        ["field", "value"],
        [
            ("id", v.id),
            ("digest", v.digest),
            ("kind", v.kind),
            ("files", v.file_count),
            ("size", _size(v.size)),
            ("rows", v.row_count),
            ("split", v.split_name),
            ("tags", ", ".join(f"{k}={val}" for k, val in v.tags.items())),
            ("message", v.message),
            ("source", v.source),
            ("created", v.created_at.isoformat()),
        ],
    )
    if v.profile is not None:
        stats = v.stats()
        rows = []
        for c in stats:
            top = ""
            if c.top is not None:
                top = ", ".join(
                    f"{val}:{n}" for val, n in zip(c.top.values[:3], c.top.counts[:3], strict=False)
                )
            rows.append(
                (
                    c.name,
                    c.type,
                    c.null_count,
                    c.distinct,
                    _fmt(c.min),
                    _fmt(c.max),
                    _fmt(c.mean),
                    _fmt(c.std),
                    _fmt((c.quantiles or {}).get("0.5")),
                    top,
                )
            )
        print_table(
            "Columns",
            ["column", "type", "nulls", "distinct", "min", "max", "mean", "std", "median", "top"],
            rows,
        )
    report = v.validation_report
    if report is not None:
        style = "green" if report.valid else "red"
        console.print(f"[{style}]{report.summary()}[/]")
    if files:
        print_table(
            "Files",
            ["path", "size", "digest", "type"],
            [(f.path, _size(f.size), f.digest[7:19], f.media_type) for f in v.files()],
        )


@app.command()
def diff(
    a: str = typer.Argument(..., help="Older version."),
    b: str = typer.Argument(..., help="Newer version."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare two versions: files, schema, rows and column statistics."""
    d = workspace().datasets.diff(a, b)
    if as_json:
        print_json(d.to_dict())
        return
    console.print(
        f"{d.a} → {d.b}: [green]+{len(d.added)}[/] added, [red]-{len(d.removed)}[/] removed, "
        f"[yellow]~{len(d.modified)}[/] modified, {d.unchanged} unchanged"
    )
    rows = [("+", f.path, _size(f.size)) for f in d.added[:50]]
    rows += [("-", f.path, _size(f.size)) for f in d.removed[:50]]
    rows += [
        ("~", new.path, f"{_size(old.size)} → {_size(new.size)}") for old, new in d.modified[:50]
    ]
    if rows:
        print_table("Files", ["", "path", "size"], rows)
    if d.rows != (None, None):
        console.print(f"rows: {d.rows[0]} → {d.rows[1]}")
        for c in d.columns_added:
            console.print(f"[green]+ column {c}[/]")
        for c in d.columns_removed:
            console.print(f"[red]- column {c}[/]")
        for c, (ta, tb) in d.type_changes.items():
            console.print(f"[yellow]~ column {c}: {ta} → {tb}[/]")
        if d.shifts:
            print_table(
                "Column statistics",
                ["column", "psi", "changes"],
                [
                    (
                        s.column,
                        _fmt(s.psi),
                        "; ".join(f"{k} {_fmt(x)} → {_fmt(y)}" for k, (x, y) in s.stats.items()),
                    )
                    for s in d.shifts
                ],
            )


@app.command()
def checkout(
    ref: str = typer.Argument(..., help="Version to check out."),
    directory: Path = typer.Argument(..., help="Destination folder."),
    copy: bool = typer.Option(False, "--copy", help="Copy files instead of hard-linking."),
) -> None:
    """Write a version's files into DIRECTORY (read-only hard links when possible)."""
    v = workspace().datasets.get(ref)
    dest = v.checkout(directory, link=not copy)
    console.print(f"[green]checked out[/] {v.ref} ({v.file_count} files) into {dest}")


@app.command()
def validate(
    ref: str = typer.Argument(..., help="Version to validate."),
    schema: Path = typer.Option(
        None, "--schema", help="pandera schema JSON (default: the dataset's)."
    ),
) -> None:
    """Validate a version against its dataset's schema; exit 1 if it fails."""
    ws = workspace()
    schema_json = None
    if schema is not None:
        try:
            schema_json = json.loads(schema.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"cannot read the schema file {schema}: {exc}") from None
    report = ws.datasets.validate(ref, schema_json)
    if report.valid:
        console.print(f"[green]{report.summary()}[/]")
        return
    print_table(
        f"{ref}: {len(report.failures)} rule(s) failed",
        ["column", "check", "failed rows", "examples"],
        [
            (f.column or "(table)", f.check, f.failed_rows, ", ".join(map(repr, f.samples)))
            for f in report.failures
        ],
    )
    raise typer.Exit(code=1)


@app.command("schema")
def schema_cmd(
    name: str = typer.Argument(..., help="Dataset name."),
    set_: Path = typer.Option(None, "--set", help="Attach the pandera schema in this JSON file."),
    clear: bool = typer.Option(False, "--clear", help="Remove the schema."),
) -> None:
    """Show, set or clear the schema that commits of dataset NAME are validated against."""
    ws = workspace()
    if set_ is not None and clear:
        raise InvalidInput("use either --set FILE or --clear, not both")
    if set_ is not None:
        try:
            text = set_.read_text()
        except OSError as exc:
            raise InvalidInput(f"cannot read the schema file {set_}: {exc.strerror}") from None
        ws.datasets.set_schema(name, text)
        console.print(f"[green]schema set[/] for {name}")
        return
    if clear:
        ws.datasets.set_schema(name, None)
        console.print(f"schema removed from {name}")
        return
    schema = ws.datasets.get_schema(name)
    if schema is None:
        console.print(f"dataset {name} has no schema")
        return
    console.print_json(schema.to_json())
