"""``shipyard jobs``: run commands under an executor; list, follow, cancel them."""

from __future__ import annotations

import sys

import typer

from ._common import console, print_json, print_table, workspace

app = typer.Typer(
    help="Commands run under an executor, with captured output.", no_args_is_help=True
)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="[OPTIONS] -- COMMAND [ARGS]...",
)
def submit(
    ctx: typer.Context,
    cpus: float = typer.Option(1, "--cpus", help="CPUs to reserve."),
    gpus: int = typer.Option(0, "--gpus", help="GPUs to reserve."),
    memory: str = typer.Option("2GiB", "--memory", help="Memory to reserve (e.g. 4GiB)."),
    executor: str = typer.Option("local", "--executor", "-e", help="inline, local or ray."),
    name: str = typer.Option(None, "--name", help="A name for the job."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Return at once; run in background."),
) -> None:
    """Run a command under an executor and stream its output.

    The command follows --, e.g. shipyard jobs submit --cpus 2 -- python train.py --epochs 3
    """
    from ..compute import Resources

    command = list(ctx.args)
    ws = workspace()
    resources = Resources(cpus=cpus, gpus=gpus, memory=memory)
    if detach:
        job = ws.jobs.submit(command, resources=resources, executor=executor, name=name, wait=False)
        console.print(f"job [bold]{job.id}[/] queued: shipyard jobs logs {job.id} -f")
        return
    job = ws.jobs.create(command, resources=resources, executor=executor, name=name)
    console.print(f"job [bold]{job.id}[/] running ({resources})", highlight=False)

    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    job = ws.jobs.run(job.id, on_output=out)
    color = "green" if job.status == "succeeded" else "red"
    console.print(f"job {job.id} [{color}]{job.status}[/] (exit code {job.exit_code})")
    if job.status != "succeeded":
        raise typer.Exit(job.exit_code or 1)


@app.command("ls")
def list_jobs(
    status: str = typer.Option(None, help="Only jobs with this status."),
    limit: int = typer.Option(50, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Jobs, newest first."""
    jobs = workspace().jobs.list(status=status, limit=limit)
    if as_json:
        print_json([j.to_dict() for j in jobs])
        return
    print_table(
        "Jobs",
        ["id", "name", "status", "exit", "executor", "created", "duration", "command"],
        [
            (
                j.id,
                j.name,
                j.status,
                j.exit_code,
                j.executor,
                j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{j.duration_s:.1f}s" if j.duration_s is not None else "",
                " ".join(j.command)[:60],
            )
            for j in jobs
        ],
    )


@app.command()
def logs(
    job: str = typer.Argument(..., help="Job id (or a unique prefix)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Stream until the job ends."),
) -> None:
    """A job's output."""
    ws = workspace()
    if follow:
        for text in ws.jobs.follow(job):
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    text, _ = ws.jobs.logs(job)
    sys.stdout.write(text)


@app.command()
def cancel(job: str = typer.Argument(..., help="Job id (or a unique prefix).")) -> None:
    """Ask a job to stop; its supervisor kills the command within a second."""
    j = workspace().jobs.cancel(job)
    console.print(f"job {j.id}: cancel requested ({j.status})")


@app.command()
def show(
    job: str = typer.Argument(..., help="Job id (or a unique prefix)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A job's record."""
    j = workspace().jobs.get(job)
    if as_json:
        print_json(j.to_dict())
        return
    print_table(f"Job {j.id}", ["field", "value"], list(j.to_dict().items()))
