"""``ws.pipelines``: run, resume, inspect pipeline runs; schedules."""

from __future__ import annotations

import atexit
import builtins
import json
import threading
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from ..compute import Executor, get_executor
from ..core import Conflict, InvalidInput, NotFound, new_id
from ._dag import Dag, Pipeline
from ._execute import AsyncBlobWriter, register_workspace, unregister_writer
from ._loader import load_target, target_of
from ._records import (
    DONE_STATES,
    PipelineRun,
    Recorder,
    StepRun,
    run_from_row,
    step_rows_from_db,
)
from ._runner import EventCallback, Runner
from .tables import pipeline_runs, pipeline_step_runs

_shared: dict[str, Executor] = {}
_shared_lock = threading.Lock()


def shared_executor(name: str) -> Executor:
    """One executor per name and process, kept warm between runs (``inline`` is fresh)."""
    if name == "inline":
        return get_executor("inline")
    with _shared_lock:
        ex = _shared.get(name)
        if ex is None:
            ex = get_executor(name)
            _shared[name] = ex
        return ex


@atexit.register
def _shutdown_shared() -> None:
    for ex in list(_shared.values()):
        try:
            ex.shutdown(wait=False)
        except Exception:
            pass
    _shared.clear()


def _now() -> datetime:
    return datetime.now(UTC)


class Pipelines:
    """Pipeline runs of a workspace."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    @cached_property
    def schedules(self) -> Any:
        from ._schedules import Schedules

        return Schedules(self._ws)

    # ---------------------------------------------------------------- running
    def run(
        self,
        pipeline: Pipeline | str,
        params: dict[str, Any] | None = None,
        *,
        executor: str | Executor = "local",
        on_event: EventCallback | None = None,
        schedule_id: str | None = None,
    ) -> PipelineRun:
        """Run *pipeline* (a Pipeline or ``"file.py:name"``) and return its record."""
        if isinstance(pipeline, str):
            pipeline = load_target(pipeline)
        ex = executor if isinstance(executor, Executor) else shared_executor(executor)
        dag, bound = pipeline.build(params)
        for n in dag.nodes:
            ex.check(n.step.resources)
        try:
            json.dumps(bound)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"pipeline {pipeline.name!r}: parameters must be JSON values (numbers, "
                f"strings, lists, dicts); got {bound!r}"
            ) from None
        run_id = new_id()
        step_ids = {n.name: new_id() for n in dag.nodes}
        graph = dag.to_dict()
        now = _now()
        with self._ws.db.write() as conn:
            conn.execute(
                pipeline_runs.insert().values(
                    id=run_id,
                    pipeline=pipeline.name,
                    target=target_of(pipeline),
                    params=bound,
                    status="running",
                    executor=ex.name,
                    graph=graph,
                    n_steps=len(dag.nodes),
                    schedule_id=schedule_id,
                    created_at=now,
                    started_at=now,
                )
            )
            conn.execute(pipeline_step_runs.insert(), self._pending_rows(run_id, dag, step_ids))
            from ..store import Node

            self._ws.lineage.created(Node("pipeline_run", run_id, pipeline.name), conn=conn)
        return self._execute(run_id, dag, ex, step_ids, {}, on_event)

    def _pending_rows(
        self, run_id: str, dag: Dag, step_ids: dict[str, str]
    ) -> builtins.list[dict[str, Any]]:
        specs = {s["name"]: s["inputs"] for s in dag.to_dict()["steps"]}
        return [
            {
                "id": step_ids[n.name],
                "run_id": run_id,
                "name": n.name,
                "step": n.step.identity,
                "status": "pending",
                "cached": False,
                "attempts": 0,
                "resources": n.step.resources.to_dict(),
                "params": n.params,
                "inputs": specs[n.name],
            }
            for n in dag.nodes
        ]

    def _execute(
        self,
        run_id: str,
        dag: Dag,
        ex: Executor,
        step_ids: dict[str, str],
        prior: dict[str, StepRun],
        on_event: EventCallback | None,
    ) -> PipelineRun:
        in_process = ex.name == "inline"
        writer = AsyncBlobWriter(self._ws.blobs)
        register_workspace(self._ws, writer if in_process else None)
        rec = Recorder(self._ws, run_id, writer)
        runner = Runner(
            self._ws,
            run_id,
            dag,
            ex,
            step_ids,
            rec,
            prior=prior,
            on_event=on_event,
            in_process=in_process,
        )
        try:
            status = runner.run()
        except BaseException as exc:
            rec.run(status="cancelled", ended_at=_now(), error=f"interrupted: {exc!r}")
            rec.flush()
            raise
        finally:
            if in_process:
                unregister_writer(self._ws)
        errors = "; ".join(f"step {n!r} failed: {e}" for n, e in runner.errors.items())
        rec.run(status=status, ended_at=_now(), error=errors or None)
        rec.flush()
        writer.close()
        return self.get(run_id)

    def resume(
        self,
        run_id: str,
        *,
        pipeline: Pipeline | str | None = None,
        executor: str | Executor | None = None,
        on_event: EventCallback | None = None,
    ) -> PipelineRun:
        """Finish a failed, cancelled or interrupted run: only unfinished steps run.

        The pipeline is loaded from the run's recorded target unless given.
        """
        old = self.get(run_id)
        if old.status == "succeeded":
            raise Conflict(
                f"pipeline run {run_id} already succeeded; nothing to resume "
                f"(start a new run with ws.pipelines.run)",
                details={"run": run_id},
            )
        if pipeline is None:
            if not old.target:
                raise InvalidInput(
                    f"pipeline run {run_id} was started from code Shipyard cannot import "
                    "again; pass the pipeline: ws.pipelines.resume(run_id, pipeline=...)",
                    details={"run": run_id},
                )
            pipeline = load_target(old.target)
        elif isinstance(pipeline, str):
            pipeline = load_target(pipeline)
        if pipeline.name != old.pipeline:
            raise InvalidInput(
                f"pipeline run {run_id} belongs to pipeline {old.pipeline!r}, not {pipeline.name!r}"
            )
        name = executor or old.executor
        ex = name if isinstance(name, Executor) else shared_executor(name)
        dag, _ = pipeline.build(old.params)
        for n in dag.nodes:
            ex.check(n.step.resources)
        prior = {s.name: s for s in old.steps}
        step_ids = {n.name: prior[n.name].id if n.name in prior else new_id() for n in dag.nodes}
        new_rows = [r for r in self._pending_rows(run_id, dag, step_ids) if r["name"] not in prior]
        with self._ws.db.write() as conn:
            if new_rows:
                conn.execute(pipeline_step_runs.insert(), new_rows)
            not_done = [s.id for s in old.steps if s.status not in DONE_STATES]
            if not_done:
                conn.execute(
                    pipeline_step_runs.update()
                    .where(pipeline_step_runs.c.id.in_(not_done))
                    .values(status="pending", error=None, traceback=None)
                )
            conn.execute(
                pipeline_runs.update()
                .where(pipeline_runs.c.id == run_id)
                .values(
                    status="running",
                    error=None,
                    ended_at=None,
                    executor=ex.name,
                    graph=dag.to_dict(),
                    n_steps=len(dag.nodes),
                )
            )
        return self._execute(run_id, dag, ex, step_ids, prior, on_event)

    # ---------------------------------------------------------------- reading
    def get(self, run_id: str) -> PipelineRun:
        with self._ws.db.read() as conn:
            row = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
            if row is None:
                row = self._by_prefix(conn, run_id)
        return run_from_row(row, None, self._ws)

    def _by_prefix(self, conn: sa.Connection, run_id: str) -> Any:
        rows: builtins.list[Any] = []
        if len(run_id) >= 6:
            rows = list(
                conn.execute(
                    sa.select(pipeline_runs).where(pipeline_runs.c.id.like(f"{run_id.upper()}%"))
                ).all()
            )
        if len(rows) == 1:
            return rows[0]
        raise NotFound(
            f"no pipeline run {run_id!r} in workspace {self._ws.home}"
            + ("" if not rows else f" ({len(rows)} runs start with it; give more characters)")
            + "; list runs with: shipyard pipelines ls",
            details={"run": run_id},
        )

    def list(
        self, pipeline: str | None = None, *, status: str | None = None, limit: int = 50
    ) -> builtins.list[PipelineRun]:
        """Runs, newest first (without step records; use ``get`` for those)."""
        q = sa.select(pipeline_runs).order_by(pipeline_runs.c.id.desc()).limit(limit)
        if pipeline:
            q = q.where(pipeline_runs.c.pipeline == pipeline)
        if status:
            q = q.where(pipeline_runs.c.status == status)
        with self._ws.db.read() as conn:
            rows = conn.execute(q).all()
        return [run_from_row(r, None, self._ws) for r in rows]

    def names(self) -> builtins.list[dict[str, Any]]:
        """Each pipeline with its run count and last run."""
        t = pipeline_runs
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.pipeline, sa.func.count(), sa.func.max(t.c.id)).group_by(t.c.pipeline)
            ).all()
            last = {
                r.id: r
                for r in conn.execute(
                    sa.select(t.c.id, t.c.status, t.c.created_at).where(
                        t.c.id.in_([r[2] for r in rows])
                    )
                )
            }
        return [
            {
                "pipeline": name,
                "runs": int(n),
                "last_run": last_id,
                "last_status": last[last_id].status if last_id in last else None,
                "last_at": last[last_id].created_at if last_id in last else None,
            }
            for name, n, last_id in sorted(rows)
        ]

    def step_run(self, step_run_id: str) -> StepRun:
        with self._ws.db.read() as conn:
            row = conn.execute(
                sa.select(pipeline_step_runs.c.run_id).where(pipeline_step_runs.c.id == step_run_id)
            ).first()
            if row is None:
                raise NotFound(f"no step run {step_run_id!r} in workspace {self._ws.home}")
            steps = step_rows_from_db(conn, row.run_id)
        return next(s for s in steps if s.id == step_run_id)

    def step_logs(self, step_run_id: str) -> str:
        s = self.step_run(step_run_id)
        if not s.log_digest:
            return ""
        return str(self._ws.blobs.get_bytes(s.log_digest).decode("utf-8", errors="replace"))
