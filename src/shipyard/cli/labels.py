"""``shipyard labels``: create projects, watch progress and agreement, export labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..core import InvalidInput
from ._common import console, print_json, print_table, workspace

app = typer.Typer(help="Labeling projects: create, status, agreement, export.")


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _read_table(path: str) -> Any:
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise InvalidInput(f"no file {path!r}; give a CSV, Parquet or JSON-lines file of tasks")
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    if p.suffix in (".jsonl", ".ndjson"):
        return pd.read_json(p, lines=True)
    if p.suffix == ".json":
        return pd.read_json(p)
    return pd.read_csv(p)


@app.command()
def create(
    name: str = typer.Argument(..., help="Project name."),
    classes: str = typer.Option(..., "--classes", "-c", help="Comma-separated class names."),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Dataset reference (reviews@2)."),
    file: str = typer.Option(None, "--file", "-f", help="Or a CSV/Parquet/JSONL file of tasks."),
    kind: str = typer.Option(
        "classification", help="classification, multilabel, text_spans, bounding_boxes."
    ),
    overlap: int = typer.Option(3, help="Annotators per task."),
    gold_fraction: float = typer.Option(0.0, help="Fraction of tasks used as hidden gold."),
    gold_column: str = typer.Option(None, help="Column with known answers for gold tasks."),
    instructions: str = typer.Option("", help="Instructions shown to annotators."),
    label_studio: str = typer.Option(None, help="Or a Label Studio JSON export to import."),
) -> None:
    """Create a labeling project from a dataset version, a file or Label Studio JSON."""
    labels = workspace().labels
    class_list = [c.strip() for c in classes.split(",") if c.strip()]
    if label_studio:
        p = labels.from_label_studio(name, Path(label_studio).read_text(), classes=class_list)
    else:
        if (dataset is None) == (file is None):
            raise InvalidInput("give exactly one of --dataset, --file or --label-studio")
        source = dataset if dataset is not None else _read_table(file)
        p = labels.create_project(
            name,
            source,
            kind=kind,
            classes=class_list,
            overlap=overlap,
            gold_fraction=gold_fraction,
            gold_column=gold_column,
            instructions=instructions,
        )
    console.print(
        f"[green]created[/] labeling project {p.name} ({p.kind}): {p.n_tasks} tasks, "
        f"{p.n_gold} gold, overlap {p.overlap}"
    )


@app.command()
def status(
    name: str = typer.Argument(None, help="A project; all projects when omitted."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Progress of one project (with annotators) or of every project."""
    labels = workspace().labels
    if name is None:
        rows = [
            (
                p.name,
                p.kind,
                p.n_regular,
                p.n_gold,
                p.n_complete,
                f"{100 * p.progress:.1f}%",
                p.n_annotations,
            )
            for p in labels.projects()
        ]
        if as_json:
            print_json([p.to_dict() for p in labels.projects()])
            return
        print_table(
            "Labeling projects",
            ["project", "kind", "tasks", "gold", "complete", "progress", "annotations"],
            rows,
        )
        return
    st = labels.status(name)
    q = labels.quality(name)
    if as_json:
        print_json({**st, "annotators": q.to_dict(orient="records")})
        return
    print_table(
        f"Project {st['name']}",
        ["figure", "value"],
        [
            ("tasks", st["n_tasks"] - st["n_gold"]),
            ("complete", st["complete"]),
            ("in progress", st["in_progress"]),
            ("not started", st["not_started"]),
            ("progress", f"{100 * st['progress']:.1f}%"),
            ("annotations", st["n_annotations"]),
            ("gold tasks", st["n_gold"]),
            ("waiting for review", st["review_pending"]),
        ],
    )
    print_table(
        "Annotators",
        ["annotator", "done", "skipped", "gold", "gold accuracy", "agreement", "status"],
        [
            (
                r.annotator,
                r.done,
                r.skipped,
                r.gold_seen,
                _fmt(r.gold_accuracy),
                _fmt(r.agreement),
                "excluded" if r.excluded else ("FLAGGED" if r.flagged else "ok"),
            )
            for r in q.itertuples()
        ],
    )


@app.command()
def agreement(
    name: str = typer.Argument(..., help="Project."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Agreement: Fleiss' kappa, Krippendorff's alpha, Gwet's AC1, per class and pair."""
    rep = workspace().labels.agreement(name)
    if not hasattr(rep, "summary"):
        data = {
            "n_items": rep["n_items"],
            "match_agreement": rep["match_agreement"],
            "threshold": rep["threshold"],
        }
        if as_json:
            print_json({**data, "pairs": rep["pairs"].to_dict(orient="records")})
            return
        print_table(
            "Match agreement (IoU)", ["figure", "value"], [(k, _fmt(v)) for k, v in data.items()]
        )
        print_table("Pairs", list(rep["pairs"].columns), rep["pairs"].values.tolist())
        return
    if as_json:
        print_json(rep.to_dict())
        return
    print_table("Agreement", ["figure", "value"], [(k, _fmt(v)) for k, v in rep.summary().items()])
    print_table(
        "Per class",
        list(rep.per_class.columns),
        [[_fmt(v) for v in r] for r in rep.per_class.values.tolist()],
    )
    print_table(
        "Annotator pairs",
        list(rep.pairs.columns),
        [[_fmt(v) for v in r] for r in rep.pairs.values.tolist()],
    )


@app.command()
def export(
    name: str = typer.Argument(..., help="Project."),
    method: str = typer.Option(
        None, help="majority, weighted_majority, dawid_skene (default), medoid (spans/boxes)."
    ),
    to: str = typer.Option(None, "--to", help="Dataset name for the new version."),
    label_studio: str = typer.Option(None, help="Write Label Studio JSON to this file instead."),
) -> None:
    """Commit aggregated labels as a new dataset version (or write Label Studio JSON)."""
    labels = workspace().labels
    if label_studio:
        tasks = labels.to_label_studio(name)
        Path(label_studio).write_text(json.dumps(tasks, default=str))
        console.print(f"[green]wrote[/] {len(tasks)} tasks to {label_studio}")
        return
    out = labels.export(name, method, name=to)
    where = (
        f"dataset version {out.dataset_version.name}@{out.dataset_version.version}"
        if out.dataset_version is not None
        else f"blob {out.digest}"
    )
    console.print(
        f"[green]exported[/] {out.n_labeled}/{len(out.frame)} labeled rows ({out.method}) "
        f"to {where}"
    )


@app.command("add-annotator")
def add_annotator(
    name: str = typer.Argument(..., help="Annotator name."),
    role: str = typer.Option("annotator", help="annotator, reviewer or manager."),
) -> None:
    """Create an annotator account."""
    a = workspace().labels.add_annotator(name, role)
    console.print(f"[green]added[/] {a.name} ({a.role})")
