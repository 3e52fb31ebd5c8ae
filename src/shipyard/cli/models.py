"""``shipyard models``: list, show, register, alias, evaluate, promote, card, criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..core import InvalidInput
from ._common import console, print_json, print_table, workspace

app = typer.Typer(
    help="Model registry: versions, aliases, evaluations, gates.", no_args_is_help=True
)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


@app.command("ls")
def ls(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List registered models with their latest version and aliases."""
    models = workspace().models.list_models()
    if as_json:
        print_json([m.to_dict() for m in models])
        return
    print_table(
        f"Models ({len(models)})",
        ["name", "latest", "aliases", "updated"],
        [
            (
                m.name,
                m.latest_version,
                ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())),
                m.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for m in models
        ],
    )


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="A model name (all versions) or a version: churn@3."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a model's versions, or one version's facts, signature and latest evaluation."""
    ws = workspace()
    if "@" not in ref:
        versions = ws.models.versions(ref)
        if as_json:
            print_json([v.to_dict() for v in versions])
            return
        print_table(
            f"Versions of {ref}",
            ["version", "flavor", "status", "aliases", "size MB", "run", "created"],
            [
                (
                    v.version,
                    v.flavor,
                    v.status,
                    ", ".join(v.aliases),
                    f"{v.size_mb:.3f}",
                    v.run_id or "",
                    v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                )
                for v in versions
            ],
        )
        return
    v = ws.models.get(ref)
    report = ws.models.latest_report(v)
    if as_json:
        print_json({**v.to_dict(), "latest_evaluation": report})
        return
    rows = [
        ("id", v.id),
        ("flavor", v.flavor),
        ("status", v.status),
        ("aliases", ", ".join(v.aliases)),
        ("digest", v.digest),
        ("size", f"{v.size_mb:.3f} MB"),
        ("run", v.run_id or ""),
        ("git", f"{v.git_commit or ''}{' (dirty)' if v.git_dirty else ''}"),
        ("description", v.description),
    ]
    print_table(v.ref, ["field", "value"], rows)
    if v.signature:
        print_table(
            "Signature",
            ["input", "type"],
            [
                (i.name, getattr(i, "kind", None) or getattr(i, "dtype", ""))
                for i in v.signature.inputs
            ],
        )
    metrics = dict(v.metrics)
    if report:
        metrics.update({k: x for k, x in report["metrics"].items() if isinstance(x, (int, float))})
    if metrics:
        print_table(
            "Metrics", ["metric", "value"], [(k, _fmt(x)) for k, x in sorted(metrics.items())]
        )


@app.command("register")
def register(
    name: str = typer.Argument(..., help="Model name."),
    file: Path = typer.Option(None, "--file", "-f", help="Model file (.joblib/.pkl/.onnx/.pt)."),
    run: str = typer.Option(None, "--run", help="Run id the model came from."),
    artifact: str = typer.Option(None, "--artifact", help="Artifact path of the model in --run."),
    flavor: str = typer.Option(None, "--flavor", help="Flavor (detected by default)."),
    dataset: list[str] = typer.Option(None, "--dataset", "-d", help="Training dataset ref(s)."),
    description: str = typer.Option("", "--description", help="Intended use."),
    metric: list[str] = typer.Option(None, "--metric", "-m", help="KEY=VALUE, repeatable."),
) -> None:
    """Register a model file, or a run's model artifact, as a new version."""
    if file is None and artifact is None:
        raise InvalidInput("give the model with --file PATH, or --run RUN --artifact PATH")
    metrics: dict[str, float] = {}
    for item in metric or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--metric {item!r}: write KEY=VALUE, e.g. --metric auc=0.91")
        try:
            metrics[key] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {item!r}: {value!r} is not a number") from None
    v = workspace().models.register(
        name,
        str(file) if file is not None else None,
        run=run,
        artifact=artifact,
        flavor=flavor,
        datasets=list(dataset or []),
        description=description,
        metrics=metrics,
    )
    console.print(f"[green]registered[/] {v.ref} ({v.flavor}, {v.size_mb:.3f} MB, {v.id})")


@app.command("alias")
def alias(
    name: str = typer.Argument(..., help="Model name."),
    alias: str = typer.Argument(..., help="Alias, e.g. champion."),
    version: str = typer.Argument(..., help="Version number (or another alias)."),
    reason: str = typer.Option("", "--reason", "-r", help="Why (kept in the history)."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias instead."),
) -> None:
    """Point ALIAS of model NAME at VERSION (the move is kept in the alias history)."""
    ws = workspace()
    if delete:
        move = ws.models.delete_alias(name, alias, reason=reason)
    else:
        move = ws.models.set_alias(name, alias, version=version, reason=reason)
    console.print(
        f"{name}@{alias}: {move.from_version or '—'} → {move.to_version or '—'} (move #{move.seq})"
    )


@app.command("history")
def history(
    name: str = typer.Argument(..., help="Model name."),
    alias: str = typer.Option(None, "--alias", "-a", help="Only this alias."),
) -> None:
    """Alias moves: from, to, when, why."""
    moves = workspace().models.alias_history(name, alias)
    print_table(
        f"Alias history of {name}",
        ["alias", "#", "from", "to", "when", "reason"],
        [
            (
                m.alias,
                m.seq,
                m.from_version,
                m.to_version,
                m.moved_at.strftime("%Y-%m-%d %H:%M:%S"),
                m.reason,
            )
            for m in moves
        ],
    )


def _frame(dataset: str) -> Any:
    """A dataset reference, or a local CSV/Parquet file."""
    p = Path(dataset)
    if p.suffix.lower() in (".csv", ".parquet") and p.exists():
        import pandas as pd

        return pd.read_csv(p) if p.suffix.lower() == ".csv" else pd.read_parquet(p)
    return dataset


@app.command("evaluate")
def evaluate(
    ref: str = typer.Argument(..., help="Model version, e.g. churn@3."),
    dataset: str = typer.Argument(..., help="Dataset ref (churn-test@2) or a .csv/.parquet file."),
    target: str = typer.Option(..., "--target", "-t", help="Label column."),
    suite: Path = typer.Option(
        None, "--suite", "-s", help="Suite TOML (default: success criteria)."
    ),
    check: list[str] = typer.Option(None, "--check", "-c", help="Extra check, e.g. 'auc >= 0.8'."),
    slice_: list[str] = typer.Option(None, "--slice", help="Column to slice on, repeatable."),
    task: str = typer.Option(None, "--task", help="classification or regression (inferred)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Evaluate a version on a dataset; exit 1 if any check fails."""
    from ..evaluation import Suite

    ws = workspace()
    the_suite = Suite.from_toml(suite) if suite is not None else ws.evaluations.default_suite()
    if check:
        the_suite = the_suite.merged(Suite(checks=list(check)))
    report = ws.evaluations.evaluate(
        ref, _frame(dataset), target, task, the_suite, slices=list(slice_ or []) or None
    )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.passed:
        raise typer.Exit(code=1)


def _print_report(report: Any) -> None:
    shown = [(k, _fmt(v)) for k, v in report.metrics.items() if isinstance(v, (int, float))]
    shown += [(k, _fmt(v)) for k, v in report.operational.items() if k != "latency_samples"]
    print_table(
        f"{report.model} on {report.dataset['label']} ({report.task})", ["metric", "value"], shown
    )
    if report.slices:
        print_table(
            "Slices",
            ["column", "slice", "rows", "metric", "value", "flag"],
            [
                (
                    s["column"],
                    s["value"],
                    s["n"],
                    s["metric"],
                    _fmt(s["score"]),
                    "⚠" if s["flagged"] else "",
                )
                for s in report.slices
            ],
        )
    print_table(
        "Checks",
        ["check", "result", "detail"],
        [
            (c["name"], "pass" if c["passed"] else "FAIL", c.get("message", ""))
            for c in report.all_checks
        ],
    )
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    console.print(f"evaluation {report.id}: {verdict}")


@app.command("promote")
def promote(
    ref: str = typer.Argument(..., help="Model version, e.g. churn@5."),
    alias: str = typer.Option("champion", "--alias", "-a", help="Alias to move."),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Evaluation data (default: latest)."),
    target: str = typer.Option(None, "--target", "-t", help="Label column (with --dataset)."),
    suite: Path = typer.Option(
        None, "--suite", "-s", help="Suite TOML (default: success criteria)."
    ),
    force: bool = typer.Option(False, "--force", help="Override a failing gate (needs --reason)."),
    reason: str = typer.Option("", "--reason", "-r", help="Why (recorded)."),
) -> None:
    """Move ALIAS to REF if it passes the gate; exit 1 listing the failed checks if not."""
    from ..evaluation import Suite

    ws = workspace()
    p = ws.models.promote(
        ref,
        alias,
        suite=Suite.from_toml(suite) if suite is not None else None,
        dataset=_frame(dataset) if dataset else None,
        target=target,
        force=force,
        reason=reason,
    )
    state = "forced" if p.forced else "promoted"
    console.print(
        f"[green]{state}[/] {p.version} → {alias} "
        f"({len(p.checks)} checks, {len(p.failed_checks)} failed)"
    )


@app.command("card")
def card(
    ref: str = typer.Argument(..., help="Model version, e.g. churn@champion."),
    html: bool = typer.Option(False, "--html", help="HTML instead of Markdown."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to a file."),
) -> None:
    """The model card (Markdown or HTML)."""
    text = workspace().models.card(ref, format="html" if html else "markdown")
    if output is not None:
        output.write_text(text)
        console.print(f"wrote {output}")
    else:
        console.print(text, markup=False, highlight=False)


@app.command("criteria")
def criteria(
    set_: list[str] = typer.Option(None, "--set", help="METRIC='OP VALUE', e.g. auc='>= 0.85'."),
    model: str = typer.Option(None, "--model", "-m", help="Show each version against them."),
) -> None:
    """Show (or set) the project's success criteria."""
    ws = workspace()
    if set_:
        pairs = {}
        for item in set_:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidInput(f"--set {item!r}: write METRIC='OP VALUE', e.g. auc='>= 0.85'")
            pairs[key.strip()] = value.strip()
        ws.evaluations.set_success_criteria(pairs)
    crit = ws.evaluations.success_criteria()
    print_table("Success criteria", ["metric", "criterion"], sorted(crit.items()))
    if model:
        m = ws.evaluations.criteria_matrix(model)
        print_table(
            f"{model} against the criteria",
            ["version", *m["criteria"]],
            [
                (
                    r["ref"],
                    *[
                        "—"
                        if c["passed"] is None
                        else f"{'✔' if c['passed'] else '✘'} {_fmt(c['value'])}"
                        for c in r["cells"]
                    ],
                )
                for r in m["versions"]
            ],
        )


@app.command("archive")
def archive(ref: str = typer.Argument(..., help="Model version.")) -> None:
    """Archive a version (hidden from 'latest'; refused while an alias uses it)."""
    v = workspace().models.archive(ref)
    console.print(f"archived {v.ref}")


@app.command("delete")
def delete(
    ref: str = typer.Argument(..., help="Model version."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Delete a version (refused while an alias or deployment uses it)."""
    if not yes:
        typer.confirm(f"delete {ref}?", abort=True)
    workspace().models.delete(ref)
    console.print(f"deleted {ref}")
