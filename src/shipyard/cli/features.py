"""``shipyard features``: apply definitions, list and inspect views, materialize, look up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from ..core import InvalidInput
from ._common import console, print_json, print_table, progress, workspace

app = typer.Typer(help="Feature store: views, services, materialization, online lookup.")


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    if text == "now":
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"invalid {option} {text!r}: use an ISO date/time such as 2026-03-01 or "
            "2026-03-01T12:00:00Z, or 'now'"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _entity(text: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"invalid --entity {text!r}: write KEY=VALUE[,KEY=VALUE]")
        v: Any = value.strip()
        try:
            v = float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            pass
        row[key.strip()] = v
    return row


@app.command()
def apply(
    file: str = typer.Argument(..., help="Python file defining entities, views, services."),
) -> None:
    """Register the definitions in FILE (new versions where they changed)."""
    from ..features import load_definitions

    results = workspace().features.apply(load_definitions(file))
    print_table(
        "Applied",
        ["kind", "name", "version", "status"],
        [(r.kind, r.name, r.version or "", r.status) for r in results],
    )


@app.command("ls")
def list_() -> None:
    """Feature views and feature services."""
    fs = workspace().features
    print_table(
        "Feature views",
        ["view", "kind", "entities", "features", "ttl", "online", "source"],
        [
            (
                v.ref,
                v.kind,
                ", ".join(v.entities),
                len(v.feature_names),
                v.ttl or "",
                "yes" if v.online else "no",
                v.source or "",
            )
            for v in fs.list_views()
        ],
    )
    print_table(
        "Feature services",
        ["service", "features", "description"],
        [(s.ref, len(s.features), s.description) for s in fs.list_services()],
    )


@app.command()
def show(
    view: str = typer.Argument(..., help="View name, name@version or id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Schema, freshness and materializations of a feature view."""
    fs = workspace().features
    v = fs.get_view(view)
    fresh = fs.freshness(v.ref) if v.kind == "batch" else []
    runs = fs.materializations(v.ref)
    if as_json:
        print_json({"view": v.to_dict(), "freshness": fresh, "materializations": runs})
        return
    console.print(f"[bold]{v.ref}[/] ({v.kind})  id {v.id}")
    if v.source:
        console.print(f"source: {v.source}   entities: {', '.join(v.entities)}   ttl: {v.ttl}")
    print_table(
        "Schema",
        ["feature", "type", "description"],
        [(f.name, f.dtype, f.description) for f in v.features],
    )
    for f in fresh:
        console.print(
            f"rows {f['rows']}, entities {f['entities']}, newest event {f['newest_event']} "
            f"(age {f['age_s']:.0f} s), materialized until {f['materialized_until']}"
            if f["age_s"] is not None
            else "no rows in the source yet"
        )
    if runs:
        print_table(
            "Materializations",
            ["start", "end", "entities", "seconds"],
            [
                (r["start"] or "beginning", r["end"], r["entities"], f"{r['seconds']:.2f}")
                for r in runs
            ],
        )


@app.command()
def materialize(
    start: str = typer.Option(None, help="Inclusive start (ISO time); omit for the beginning."),
    end: str = typer.Option("now", help="Exclusive end (ISO time or 'now')."),
    view: list[str] = typer.Option([], "--view", "-v", help="Only these views (repeatable)."),
    incremental: bool = typer.Option(
        False, "--incremental", help="Start each view where its last run ended."
    ),
) -> None:
    """Write the latest values with start <= event time < end into the online store."""
    fs = workspace().features
    end_t = _when(end, "--end")
    assert end_t is not None
    with progress() as p:
        tasks: dict[str, Any] = {}

        def report(ref: str, written: int) -> None:
            if ref not in tasks:
                tasks[ref] = p.add_task(f"{ref} entities", total=None)
            p.update(tasks[ref], completed=written)

        if incremental:
            if start is not None:
                raise InvalidInput("--incremental takes no --start: each view resumes itself")
            results = fs.materialize_incremental(end_t, view or None, progress=report)
        else:
            results = fs.materialize(_when(start, "--start"), end_t, view or None, progress=report)
    print_table(
        "Materialized",
        ["view", "start (incl.)", "end (excl.)", "entities", "seconds"],
        [
            (
                r.view,
                r.start or "beginning",
                r.end,
                "up to date" if r.skipped else r.entities,
                f"{r.seconds:.2f}",
            )
            for r in results
        ],
    )


@app.command()
def get(
    entity: list[str] = typer.Option(
        ..., "--entity", "-e", help="KEY=VALUE[,KEY=VALUE] (repeatable)."
    ),
    feature: list[str] = typer.Option([], "--feature", "-f", help="view:feature (repeatable)."),
    service: str = typer.Option(None, "--service", "-s", help="A feature service instead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Look up online feature values (with status) for entities."""
    if bool(feature) == bool(service):
        raise InvalidInput("pass either --feature (repeatable) or --service")
    rows = [_entity(e) for e in entity]
    result = workspace().features.get_online_features(service or list(feature), rows)
    if as_json:
        print_json(result.to_dict())
        return
    table_rows = []
    for ent, values, status in zip(result.entities, result.values, result.status, strict=True):
        for name in result.features:
            table_rows.append((ent, name, values.get(name), status.get(name)))
    print_table("Online features", ["entity", "feature", "value", "status"], table_rows)
