"""Run records: what ran, when, where, from cache or not; written in batches.

The runner never writes one transaction per step on its hot path: updates collect in
a :class:`Recorder` and are flushed together (every ``interval`` seconds, and at the
end). A flush first waits for pending blob writes, so a step recorded as done always
has durable outputs, which is what resume relies on after a crash.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..core import utcnow
from ..store import Node
from .tables import pipeline_runs, pipeline_step_outputs, pipeline_step_runs

STEP_STATES = ("pending", "running", "succeeded", "cached", "failed", "skipped", "cancelled")
DONE_STATES = frozenset({"succeeded", "cached"})


@dataclass
class StepRun:
    id: str
    run_id: str
    name: str
    step: str
    status: str
    cached: bool
    cache_key: str | None
    cached_from: str | None
    attempts: int
    executor: str | None
    resources: dict[str, Any] | None
    params: dict[str, Any] | None
    inputs: dict[str, Any] | None
    error: str | None
    traceback: str | None
    log_digest: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def lineage_node(self) -> Node:
        return Node("step_run", self.id, self.name)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("started_at", "ended_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


@dataclass
class PipelineRun:
    id: str
    pipeline: str
    target: str | None
    params: dict[str, Any]
    status: str
    executor: str
    graph: dict[str, Any]
    n_steps: int
    error: str | None
    schedule_id: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    _steps: list[StepRun] | None = field(default=None, repr=False)
    _ws: Any = field(default=None, repr=False, compare=False)

    @property
    def steps(self) -> list[StepRun]:
        """Step records (loaded on first use)."""
        if self._steps is None:
            with self._ws.db.read() as conn:
                self._steps = step_rows_from_db(conn, self.id)
        return self._steps

    @property
    def lineage_node(self) -> Node:
        return Node("pipeline_run", self.id, self.pipeline)

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None

    def step(self, name: str) -> StepRun:
        for s in self.steps:
            if s.name == name:
                return s
        from ..core import NotFound, did_you_mean

        raise NotFound(
            f"pipeline run {self.id} has no step {name!r}; "
            f"{did_you_mean([s.name for s in self.steps])}"
        )

    def output(self, step: str, name: str = "output") -> Any:
        """Load a step's output from the blob store (or the referenced object)."""
        from ._execute import _load

        s = self.step(step)
        if name not in s.outputs:
            from ..core import NotFound

            raise NotFound(
                f"step {step!r} of run {self.id} has no output {name!r} "
                f"(status {s.status}); outputs: {', '.join(s.outputs) or 'none'}"
            )
        return _load(self._ws, s.outputs[name])

    @property
    def result(self) -> Any:
        """The value(s) the pipeline body returned (step outputs), loaded."""
        spec = self.graph.get("result")
        if not spec:
            return None
        values = [self.output(r["step"], r["output"]) for r in spec]
        return values[0] if len(values) == 1 else tuple(values)

    @property
    def cached_steps(self) -> int:
        return sum(1 for s in self.steps if s.cached)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def to_dict(self, steps: bool = True) -> dict[str, Any]:
        d = {
            k: v
            for k, v in self.__dict__.items()
            if not k.startswith("_") and k not in ("steps", "graph")
        }
        for k in ("created_at", "started_at", "ended_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["duration_s"] = self.duration_s
        d["counts"] = self.counts()
        if steps:
            d["graph"] = self.graph
            d["steps"] = [s.to_dict() for s in self.steps]
        return d


def _insert(db: Any, table: sa.Table) -> Any:
    return postgresql.insert(table) if db.backend == "postgresql" else sqlite.insert(table)


_STEP_COLS = [c.name for c in pipeline_step_runs.columns]


class Recorder:
    """Collects step updates and writes them in one transaction per flush."""

    def __init__(self, ws: Any, run_id: str, writer: Any = None, interval: float = 0.2) -> None:
        self.ws = ws
        self.run_id = run_id
        self.writer = writer
        self.interval = interval
        self._steps: dict[str, dict[str, Any]] = {}
        self._outputs: list[dict[str, Any]] = []
        self._edges: list[tuple[Node, Node, str]] = []
        self._run: dict[str, Any] = {}
        self._digests: dict[str, list[str]] = {}
        self._last = time.monotonic()

    def step(self, row: dict[str, Any]) -> None:
        cur = self._steps.get(row["id"])
        if cur is None:
            self._steps[row["id"]] = dict(row)
        else:
            cur.update(row)

    def needs(self, step_run_id: str, digest: str | None) -> None:
        """The step's record may only be written once *digest* is durable."""
        if digest:
            self._digests.setdefault(step_run_id, []).append(digest)

    def outputs(self, step_run_id: str, outputs: dict[str, dict[str, Any]]) -> None:
        for name, d in outputs.items():
            self.needs(step_run_id, d.get("digest"))
            self._outputs.append(
                {
                    "step_run_id": step_run_id,
                    "name": name,
                    "materializer": d["materializer"],
                    "type": d["type"][:256],
                    "digest": d.get("digest"),
                    "size": d.get("size"),
                    "ref_kind": d.get("ref_kind"),
                    "ref_id": d.get("ref_id"),
                    "preview": d.get("preview"),
                }
            )

    def edge(self, src: Node, dst: Node, relation: str) -> None:
        self._edges.append((src, dst, relation))

    def run(self, **values: Any) -> None:
        self._run.update(values)

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last >= self.interval:
            self.flush(final=False)

    def flush(self, final: bool = True) -> None:
        """Write what is collected. Not *final*: records whose blobs are still being
        written wait for the next flush instead of blocking the runner."""
        self._last = time.monotonic()
        if not (self._steps or self._outputs or self._edges or self._run):
            return
        steps, outputs, edges, run = self._steps, self._outputs, self._edges, self._run
        self._steps, self._outputs, self._edges, self._run = {}, [], [], {}
        if self.writer is not None:
            if final:
                self.writer.flush()
                self._digests.clear()
            else:
                pending = self.writer.pending()
                late = {sid for sid, ds in self._digests.items() if any(d in pending for d in ds)}
                for sid in list(self._digests):
                    if sid not in late:
                        del self._digests[sid]
                if late:
                    self._steps = {k: v for k, v in steps.items() if k in late}
                    steps = {k: v for k, v in steps.items() if k not in late}
                    self._outputs = [o for o in outputs if o["step_run_id"] in late]
                    outputs = [o for o in outputs if o["step_run_id"] not in late]
        db = self.ws.db
        with db.write() as conn:
            if steps:
                by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for row in steps.values():
                    cols = tuple(sorted(c for c in row if c != "id"))
                    by_cols.setdefault(cols, []).append(
                        {"_id": row["id"], **{f"_{c}": row[c] for c in cols}}
                    )
                t = pipeline_step_runs
                for cols, rows in by_cols.items():
                    stmt = (
                        t.update()
                        .where(t.c.id == sa.bindparam("_id"))
                        .values({c: sa.bindparam(f"_{c}") for c in cols})
                    )
                    conn.execute(stmt, rows)
            if outputs:
                ins = _insert(db, pipeline_step_outputs).on_conflict_do_nothing(
                    index_elements=["step_run_id", "name"]
                )
                conn.execute(ins, outputs)
            if edges:
                self.ws.lineage.record_many(edges, conn=conn)
            if run:
                conn.execute(
                    pipeline_runs.update().where(pipeline_runs.c.id == self.run_id).values(**run)
                )


def step_rows_from_db(conn: sa.Connection, run_id: str) -> list[StepRun]:
    rows = conn.execute(
        sa.select(pipeline_step_runs)
        .where(pipeline_step_runs.c.run_id == run_id)
        .order_by(pipeline_step_runs.c.id)
    ).all()
    outs = _outputs_of(conn, [r.id for r in rows])
    # cached steps reuse the outputs of the step run they were served from
    sources = sorted({r.cached_from for r in rows if r.cached_from and r.id not in outs})
    outs.update(_outputs_of(conn, sources))
    return [
        StepRun(
            **{c: getattr(r, c) for c in _STEP_COLS},
            outputs=dict(outs.get(r.id) or outs.get(r.cached_from or "", {})),
        )
        for r in rows
    ]


def _outputs_of(conn: sa.Connection, ids: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    outs: dict[str, dict[str, dict[str, Any]]] = {}
    t = pipeline_step_outputs
    for i in range(0, len(ids), 500):
        for o in conn.execute(sa.select(t).where(t.c.step_run_id.in_(ids[i : i + 500]))):
            outs.setdefault(o.step_run_id, {})[o.name] = output_desc(o)
    return outs


def output_desc(o: Any) -> dict[str, Any]:
    return {
        "materializer": o.materializer,
        "type": o.type,
        "digest": o.digest,
        "size": o.size,
        "ref_kind": o.ref_kind,
        "ref_id": o.ref_id,
        "preview": o.preview,
    }


def run_from_row(r: Any, steps: list[StepRun] | None, ws: Any) -> PipelineRun:
    return PipelineRun(
        id=r.id,
        pipeline=r.pipeline,
        target=r.target,
        params=r.params,
        status=r.status,
        executor=r.executor,
        graph=r.graph,
        n_steps=r.n_steps,
        error=r.error,
        schedule_id=r.schedule_id,
        created_at=r.created_at,
        started_at=r.started_at,
        ended_at=r.ended_at,
        _steps=steps,
        _ws=ws,
    )


def now() -> datetime:
    return utcnow()
