"""``shipyard serve REF…`` and ``shipyard models package REF --out DIR``.

``serve`` is a top-level command; ``package`` is added to the model registry's
``models`` group (it acts on a model version).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, workspace

app = typer.Typer(help="Model servers.", no_args_is_help=True)


def serve(
    refs: list[str] = typer.Argument(..., help="Model versions, e.g. churn@champion digits@3."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8080, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (metrics are summed across them)."),
    max_batch_size: int = typer.Option(64, help="Most rows per model call."),
    max_latency_ms: float = typer.Option(5.0, help="Longest a row waits for a batch to fill."),
    target_latency_ms: float = typer.Option(
        50.0, help="Batch latency the AIMD controller aims at."
    ),
    max_queue: int = typer.Option(1024, help="Requests waiting per model before 503 queue full."),
    timeout_ms: float = typer.Option(5000.0, help="Default request deadline (503 deadline)."),
    no_batching: bool = typer.Option(False, "--no-batching", help="One model call per request."),
    threads: int = typer.Option(2, help="Inference threads per worker."),
    intra_op_threads: int = typer.Option(
        1, help="Threads inside one model call (ONNX Runtime); 0: all cores."
    ),
    features: list[str] = typer.Option(
        [],
        "--features",
        help="MODEL=SERVICE (or SERVICE with one model): records may carry only the "
        "entity keys; the other columns come from that feature service's online store.",
    ),
    deployment: str = typer.Option(None, help="Deployment name for logs and the UI."),
    watch_interval: float = typer.Option(
        2.0, help="Seconds between registry polls for alias moves (0: never)."
    ),
    onnx: bool = typer.Option(
        False, "--onnx", help="Serve each version's ONNX export (exported once if needed)."
    ),
    no_prediction_log: bool = typer.Option(
        False,
        "--no-prediction-log",
        help="Do not log served predictions for monitoring (on by default).",
    ),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve model versions over HTTP (Open Inference Protocol v2, TF-Serving, records)."""
    from ..serving import BatchConfig
    from ..serving import serve as run

    ws = workspace()
    batching = BatchConfig(
        max_batch_size=max_batch_size,
        max_latency_ms=max_latency_ms,
        target_latency_ms=target_latency_ms,
        max_queue=max_queue,
        timeout_ms=timeout_ms,
        enabled=not no_batching,
    )
    models = [ws.models.get(ref).name for ref in refs]  # fail fast on a wrong reference
    feature_map: dict[str, str] = {}
    for item in features:
        model, sep, service = item.rpartition("=")
        if not sep:
            if len(models) != 1:
                raise typer.BadParameter(
                    f"--features {item!r}: name the model (MODEL=SERVICE) when serving "
                    f"several ({', '.join(models)})"
                )
            model = models[0]
        if model not in models:
            raise typer.BadParameter(
                f"--features {item!r}: {model!r} is not served here ({', '.join(models)})"
            )
        ws.features.get_service(service)  # fail fast on a wrong feature service
        feature_map[model] = service
    console.print(
        f"serving {', '.join(refs)} on [link]http://{host}:{port}/v2[/link] "
        f"({workers} worker{'s' if workers != 1 else ''}; metrics at /metrics)"
    )
    run(
        refs,
        host,
        port,
        workers,
        ws=ws,
        log_level=log_level,
        batching=batching,
        threads=threads,
        intra_op_threads=intra_op_threads,
        features=feature_map,
        deployment=deployment,
        watch_interval_s=watch_interval or None,
        onnx=onnx,
        prediction_log=not no_prediction_log,
    )


def package_model(
    ref: str = typer.Argument(..., help="Model version, e.g. churn@champion."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write."),
    workers: int = typer.Option(2, help="Workers the container's server runs."),
    force: bool = typer.Option(False, "--force", help="Overwrite a non-empty directory."),
) -> None:
    """Write a container directory: model files, pinned requirements, a Dockerfile."""
    from ..serving import package

    path = package(workspace(), ref, out, workers=workers, force=force)
    console.print(f"[green]packaged[/] {ref} in {path}  (docker build -t {path.name} {path})")


def register(models_app: typer.Typer) -> None:
    """Add ``package`` to the model registry's command group."""
    models_app.command("package")(package_model)


try:
    from .models import app as _models_app
except ImportError:  # the registry's commands are not installed: keep ours in this group
    app.command("package")(package_model)
else:
    register(_models_app)
