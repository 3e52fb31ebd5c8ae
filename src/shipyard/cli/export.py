"""Export commands: ``shipyard models export`` / ``models distill`` and ``shipyard export``.

``export`` and ``distill`` are added to the model registry's ``models`` group (they act
on model versions); the ``export`` group lists and shows the stored reports.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import typer

from ..core import InvalidInput
from ._common import console, print_json, print_table, workspace

app = typer.Typer(
    help="Export reports: ONNX exports, quantizations, distillations.", no_args_is_help=True
)


def _data(arg: str | None) -> Any:
    """A dataset reference, or a local CSV / Parquet file."""
    if arg is None:
        return None
    p = Path(arg)
    if p.suffix.lower() in (".csv", ".parquet") and p.exists():
        import pandas as pd

        return pd.read_csv(p) if p.suffix.lower() == ".csv" else pd.read_parquet(p)
    return arg


def export_model(
    ref: str = typer.Argument(..., help="Model version, e.g. churn@5."),
    format: str = typer.Option("onnx", "--format", "-f", help="onnx or ort (ONNX Runtime Mobile)."),
    quantize: str = typer.Option(
        None, "--quantize", "-q", help="dynamic, static, fp16 or auto (static for CNNs)."
    ),
    dataset: str = typer.Option(
        None,
        "--dataset",
        "-d",
        help="Rows for parity and calibration: a dataset ref or a CSV/Parquet file.",
    ),
    holdout: str = typer.Option(
        None, "--holdout", help="Rows for the quantization gate (default: --dataset)."
    ),
    target: str = typer.Option(None, "--target", help="Label column of the data."),
    opset: int = typer.Option(None, "--opset", help="ONNX opset (default: the converter's)."),
    tolerance: float = typer.Option(
        0.01, "--tolerance", help="Allowed metric drop (0.01 = 1 point)."
    ),
    name: str = typer.Option(
        None, "--name", help="Register under this model name (default: the source's)."
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Also write the model file here."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Export a model version to ONNX (or .ort), optionally quantized; register the result."""
    import shipyard.export as ex

    if format not in ex.FORMATS:
        raise InvalidInput(f"--format must be one of {', '.join(ex.FORMATS)}, not {format!r}")
    ws = workspace()
    data, hold = _data(dataset), _data(holdout)
    src = ws.models.get(ref)
    if quantize:
        v = ex.quantize(
            src,
            quantize,
            data,
            hold,
            ws=ws,
            tolerance=tolerance,
            target=target,
            opset=opset,
            name=name,
        )
    elif src.flavor in ex.FORMATS:
        v = src
    else:
        v = ex.to_onnx(
            src, opset, data if data is not None else hold, ws=ws, target=target, name=name
        )
    if format == "ort":
        v = ex.to_ort(v, data if data is not None else hold, ws=ws, target=target, name=name)
    if output is not None:
        ex.save(v, output, ws=ws)
    reports = [r for r in ex.reports(v, ws=ws, limit=20) if r.result == v.ref]
    if as_json:
        print_json({"version": v.to_dict(), "report": reports[0].to_dict() if reports else None})
        return
    console.print(
        f"[green]registered[/] {v.ref} ({v.flavor}, {v.size_bytes:,} bytes)"
        + (f" → {output}" if output else "")
    )
    if reports:
        print_report(reports[0].report)


def distill_model(
    teacher: str = typer.Argument(..., help="Teacher model version, e.g. digits-cnn@3."),
    student: str = typer.Option(
        ...,
        "--student",
        "-s",
        help="Import path of the student class or factory, e.g. "
        "sklearn.linear_model:LogisticRegression or mypkg.nets:Tiny.",
    ),
    student_args: str = typer.Option("{}", "--student-args", help="JSON keyword arguments."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Transfer data: dataset ref or file."),
    holdout: str = typer.Option(
        None, "--holdout", help="Evaluation data (default: 20% of --dataset)."
    ),
    target: str = typer.Option(None, "--target", help="Label column of the data."),
    temperature: float = typer.Option(
        4.0, "--temperature", "-T", help="Softens the teacher's probabilities (> 0)."
    ),
    alpha: float = typer.Option(0.7, "--alpha", help="Weight of the soft-label loss."),
    epochs: int = typer.Option(10, "--epochs", help="Training epochs (torch students)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Batch size (torch students)."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (torch students)."),
    tolerance: float = typer.Option(
        None, "--tolerance", help="Refuse a student this far below the teacher (0.02 = 2 points)."
    ),
    name: str = typer.Option(None, "--name", help="Model name (default: <teacher>-student)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Distill a registered classifier into a smaller student (tracked as a run)."""
    import shipyard.export as ex

    model = _student(student, student_args)
    ws = workspace()
    v = ex.distill(
        teacher,
        model,
        _data(dataset),
        temperature,
        alpha,
        epochs,
        ws=ws,
        holdout=_data(holdout),
        target=target,
        batch_size=batch_size,
        lr=lr,
        tolerance=tolerance,
        name=name,
    )
    rep = ex.report(v, ws=ws)
    if as_json:
        print_json({"version": v.to_dict(), "report": rep.to_dict()})
        return
    console.print(f"[green]registered[/] {v.ref} ({v.flavor}), run {rep.report.get('run_id')}")
    print_report(rep.report)


def _student(spec: str, args: str) -> Any:
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise InvalidInput(
            f"--student {spec!r} is not an import path; use 'package.module:ClassName'",
            details={"student": spec},
        )
    try:
        kwargs = json.loads(args)
        factory = importlib.import_module(module)
        for part in attr.split("."):
            factory = getattr(factory, part)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--student-args is not valid JSON: {exc}") from None
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(
            f"cannot import the student {spec!r}: {exc}", details={"student": spec}
        ) from None
    if not isinstance(kwargs, dict):
        raise InvalidInput("--student-args must be a JSON object of keyword arguments")
    return factory(**kwargs)  # type: ignore[operator]


def _ms(stats: dict[str, Any] | None, batch: str) -> str:
    s = (stats or {}).get(batch)
    return f"{s['p50_ms']:.3f} / {s['p95_ms']:.3f}" if s else ""


def _ratio(r: float) -> str:
    return f"{r:.2f}x smaller" if r >= 1 else f"{1 / r:.2f}x larger" if r > 0 else ""


def print_report(report: dict[str, Any]) -> None:
    """The before/after table of an export report."""
    rows: list[tuple[str, Any, Any]] = []
    size = report.get("size")
    if size:
        rows.append(
            (
                "size (bytes)",
                f"{size['before']:,}",
                f"{size['after']:,}  ({_ratio(size['ratio'])})",
            )
        )
    params = report.get("parameters")
    if params:
        rows.append(("parameters", params.get("teacher"), params.get("student")))
    metric = report.get("gate") or report.get("metric")
    if metric:
        name = metric.get("metric") or metric.get("name")
        rows.append(
            (f"{name} ({metric.get('data')})", f"{metric['before']:.4f}", f"{metric['after']:.4f}")
        )
    lat = report.get("latency")
    if lat:
        for b in ("batch_1", "batch_32"):
            rows.append(
                (
                    f"latency {b.replace('_', ' ')} p50/p95 ms",
                    _ms(lat["before"], b),
                    _ms(lat["after"], b),
                )
            )
    title = f"{report.get('operation')} of {report.get('source')}"
    if report.get("method"):
        title += f" ({report['method']})"
    print_table(title, ["", "before", "after"], rows)
    parity = report.get("parity")
    if parity:
        agree = parity.get("label_agreement")
        console.print(
            f"parity on {parity.get('rows')} rows: max abs diff {parity.get('max_abs_diff', 0):.3g}"
            + (f", labels agree {agree:.1%}" if agree is not None else "")
            + (
                " [green]passed[/]"
                if parity.get("passed")
                else f" [red]failed[/]: {parity.get('reason')}"
            )
        )
    if report.get("refused"):
        console.print(f"[red]refused:[/] {report['refused']}")


@app.command("reports")
def reports(
    ref: str = typer.Argument(None, help="Model version (as source or result); all if omitted."),
    limit: int = typer.Option(50, "--max", "-n", help="Show at most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Export, quantization and distillation attempts, newest first."""
    import shipyard.export as ex

    found = ex.reports(ref, limit, ws=workspace())
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    print_table(
        "Export reports",
        ["id", "operation", "status", "source", "result", "size ratio", "when"],
        [
            (
                r.id,
                r.operation + (f" {r.report['method']}" if r.report.get("method") else ""),
                r.status,
                r.source,
                r.result,
                (r.report.get("size") or {}).get("ratio"),
                r.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for r in found
        ],
    )


@app.command("show")
def show(
    what: str = typer.Argument(..., help="A report id, or a model version made by an export."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One export report: parity, sizes, latencies, metric before/after."""
    import shipyard.export as ex

    svc = ex.Exports(workspace())
    from ..core import is_id

    rep = svc.get_report(what) if is_id(what) and "@" not in what else svc.report(what)
    if as_json:
        print_json(rep.to_dict())
        return
    print_report(rep.report)


def register(models_app: typer.Typer) -> None:
    """Add ``export`` and ``distill`` to the model registry's command group."""
    models_app.command("export")(export_model)
    models_app.command("distill")(distill_model)


try:
    from .models import app as _models_app
except ImportError:  # the registry's commands are not installed: keep ours in this group
    app.command("model")(export_model)
    app.command("distill")(distill_model)
else:
    register(_models_app)
