"""The driver loop: schedule ready steps, serve cache hits, retry, time out, record.

Steps whose inputs are ready are looked up in the cache first (all cache keys of the
pipeline's steps are loaded once per run, so a lookup is a dict access); misses go to
the executor. Independent steps run in parallel as far as the executor's resources
allow. A failing step marks its descendants skipped while independent branches go on.
"""

from __future__ import annotations

import heapq
import json
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cloudpickle
import sqlalchemy as sa

from ..compute import Executor, Handle, TaskFailed
from ..core import hash_bytes, new_id, stable_hash
from ..store import Node
from ._dag import Dag
from ._dag import Node as DagNode
from ._execute import StepTask, execute_step
from ._records import DONE_STATES, Recorder, StepRun, output_desc
from .tables import pipeline_step_outputs, pipeline_step_runs

EventCallback = Callable[[str, str, dict[str, Any]], None]
CACHE_VERSION = "shipyard-step-v1"
PREFETCH_LIMIT = 50_000


def _ts(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t is not None else None


def _call_shape(node: DagNode) -> tuple[str | None, str | None, tuple[str, ...]]:
    import inspect

    varargs = varkw = None
    positional: list[str] = []
    for p in node.step.signature.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            varargs = p.name
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            varkw = p.name
        elif p.kind is inspect.Parameter.POSITIONAL_ONLY or (
            p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and varargs is None
        ):
            positional.append(p.name)
    return varargs, varkw, tuple(positional) if varargs else ()


class Runner:
    def __init__(
        self,
        ws: Any,
        run_id: str,
        dag: Dag,
        executor: Executor,
        step_ids: dict[str, str],
        recorder: Recorder,
        *,
        prior: dict[str, StepRun] | None = None,
        on_event: EventCallback | None = None,
        in_process: bool = False,
    ) -> None:
        self.ws = ws
        self.run_id = run_id
        self.dag = dag
        self.executor = executor
        self.step_ids = step_ids
        self.rec = recorder
        self.prior = prior or {}
        self.on_event = on_event
        self.in_process = in_process
        self.nodes = dag.by_name()
        self.state: dict[str, str] = {}
        self.outs: dict[str, dict[str, dict[str, Any]]] = {}
        self.keys: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self.children: dict[str, list[str]] = {n.name: [] for n in dag.nodes}
        self.waiting: dict[str, int] = {}
        self.consumers: dict[str, int] = {}
        for n in dag.nodes:
            self.waiting[n.name] = len(n.upstream)
            for u in n.upstream:
                self.children[u.name].append(n.name)
        for name, kids in self.children.items():
            self.consumers[name] = len(kids)
        self.done_q: queue.Queue[tuple[str, Handle]] = queue.Queue()
        self.running: dict[str, tuple[Handle, float | None]] = {}
        self.timed_out: set[str] = set()
        self.retry_heap: list[tuple[float, str]] = []
        self.ready: list[str] = []
        self.finished = 0
        self._fn_bytes: dict[int, bytes] = {}
        self._prefetched: dict[str, dict[str, dict[str, Any]]] | None = None
        self.run_node = Node("pipeline_run", run_id, dag.pipeline)

    # ------------------------------------------------------------------ helpers
    def _emit(self, name: str, status: str, **info: Any) -> None:
        if self.on_event is not None:
            self.on_event(name, status, info)

    def _step_node(self, name: str) -> Node:
        return Node("step_run", self.step_ids[name], f"{self.dag.pipeline}/{name}")

    def _known_keys(self) -> dict[str, str]:
        identities = sorted({n.step.identity for n in self.dag.nodes if n.step.cache})
        if not identities:
            return {}
        t = pipeline_step_runs
        known: dict[str, str] = {}
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(t.c.cache_key, t.c.id)
                .where(t.c.step.in_(identities))
                .where(t.c.status == "succeeded")
                .where(t.c.cache_key.is_not(None))
                .order_by(t.c.id)
            )
            for key, sid in rows:
                known[key] = sid
        return known

    def _inputs(self, node: DagNode) -> tuple[dict[str, Any], dict[str, Any]]:
        """(descriptors for the task, identities for the cache key)."""
        descs: dict[str, Any] = {}
        ids: dict[str, Any] = {}
        for arg, spec in node.inputs.items():
            if spec[0] == "out":
                up, out = spec[1].name, spec[2]
                d = self.outs[up][out]
                descs[arg] = dict(d)
                ids[arg] = [
                    self.keys.get(up, ""),
                    d.get("digest") or f"{d['ref_kind']}:{d['ref_id']}",
                ]
            elif spec[0] == "list":
                items = [dict(self.outs[u.name][o]) for u, o in spec[1]]
                descs[arg] = items
                ids[arg] = [
                    [self.keys.get(u.name, ""), d.get("digest") or f"{d['ref_kind']}:{d['ref_id']}"]
                    for (u, _o), d in zip(spec[1], items, strict=True)
                ]
            else:
                descs[arg] = {"ref_kind": spec[1], "ref_id": spec[2]}
                ids[arg] = f"{spec[1]}:{spec[2]}"
        return descs, ids

    def _cache_key(self, node: DagNode, ids: dict[str, Any]) -> str:
        ignore = node.step.cache_ignore
        params = {k: v for k, v in node.params.items() if k not in ignore}
        inputs = {k: v for k, v in ids.items() if k not in ignore}
        return stable_hash(
            CACHE_VERSION,
            node.step.identity,
            node.step.code_hash,
            node.step.version or "",
            json.dumps(params, sort_keys=True, separators=(",", ":")),
            json.dumps(inputs, sort_keys=True, separators=(",", ":")),
            ",".join(node.step.output_names),
        )

    # ------------------------------------------------------------------ transitions
    def _finish(self, name: str, status: str, row: dict[str, Any]) -> None:
        self.state[name] = status
        self.finished += 1
        self.rec.step({"id": self.step_ids[name], "status": status, **row})
        self._emit(name, status, **row)
        if status in DONE_STATES:
            for c in self.children[name]:
                self.waiting[c] -= 1
                if self.waiting[c] == 0 and c not in self.state:
                    self.ready.append(c)
        else:
            self._skip_descendants(name)

    def _skip_descendants(self, name: str) -> None:
        stack = list(self.children[name])
        while stack:
            c = stack.pop()
            if c in self.state:
                continue
            self.state[c] = "skipped"
            self.finished += 1
            self.rec.step(
                {
                    "id": self.step_ids[c],
                    "status": "skipped",
                    "error": f"skipped: upstream step {name!r} did not succeed",
                }
            )
            self._emit(c, "skipped")
            stack.extend(self.children[c])

    def _lineage(self, name: str, outputs: dict[str, dict[str, Any]]) -> None:
        node = self.nodes[name]
        me = self._step_node(name)
        if not node.upstream:  # later steps hang off these through their inputs
            self.rec.edge(self.run_node, me, "step")
        for u in node.upstream:
            self.rec.edge(self._step_node(u.name), me, "input")
        for spec in node.inputs.values():
            if spec[0] == "ref":
                self.rec.edge(Node(spec[1], spec[2], spec[2]), me, "input")
        for d in outputs.values():
            if d.get("ref_kind"):
                self.rec.edge(me, Node(d["ref_kind"], d["ref_id"], d["ref_id"]), "output")

    def _succeed(self, name: str, outputs: dict[str, dict[str, Any]], row: dict[str, Any]) -> None:
        self.outs[name] = outputs
        source = row.get("cached_from")
        if source:
            # outputs and input edges live on the step run that made them
            self.rec.edge(
                Node("step_run", source, f"{self.dag.pipeline}/{name}"),
                self._step_node(name),
                "cache",
            )
            if not self.nodes[name].upstream:
                self.rec.edge(self.run_node, self._step_node(name), "step")
        else:
            self.rec.outputs(self.step_ids[name], outputs)
            self._lineage(name, outputs)
        self._finish(name, row.pop("status", "succeeded"), row)

    def _submit(self, name: str, descs: dict[str, Any]) -> None:
        node = self.nodes[name]
        attempt = self.attempts.get(name, 0) + 1
        self.attempts[name] = attempt
        if not self.in_process and self.rec.writer is not None:
            for d in _flat(descs):
                if d.get("digest") and d.get("data") is None:
                    self.rec.writer.wait(d["digest"])
        if attempt == 1:
            for u in node.upstream:
                self.consumers[u.name] -= 1
                if self.consumers[u.name] == 0 and u.name in self.outs:
                    for d in self.outs[u.name].values():  # every consumer has its bytes
                        d.pop("data", None)
        varargs, varkw, positional = _call_shape(node)
        task = StepTask(
            settings=self.ws.settings,
            run_id=self.run_id,
            step_run_id=self.step_ids[name],
            pipeline=self.dag.pipeline,
            name=name,
            params=node.params,
            inputs=descs,
            outputs=node.step.outputs,
            varargs=varargs,
            varkw=varkw,
            positional=positional,
        )
        if self.in_process:
            task.fn = node.step.fn
        else:
            key = id(node.step)
            if key not in self._fn_bytes:
                self._fn_bytes[key] = cloudpickle.dumps(node.step.fn)
            task.fn_bytes = self._fn_bytes[key]
        self.rec.step(
            {
                "id": self.step_ids[name],
                "status": "running",
                "attempts": attempt,
                "executor": self.executor.name,
                "started_at": datetime.now(UTC),
            }
        )
        self._emit(name, "running", attempt=attempt)
        self.state.pop(name, None)
        handle = self.executor.submit(
            execute_step,
            task,
            resources=node.step.resources,
            name=f"{self.dag.pipeline}/{name}",
        )
        timeout = node.step.timeout
        self.running[name] = (handle, timeout)

        def _done(h: Handle, n: str = name) -> None:
            self.done_q.put((n, h))

        handle.add_done_callback(_done)

    def _start(self, wave: list[str], known: dict[str, str]) -> None:
        hits: list[tuple[str, str, str]] = []
        for name in wave:
            node = self.nodes[name]
            descs, ids = self._inputs(node)
            key = self._cache_key(node, ids)
            self.keys[name] = key
            self.rec.step({"id": self.step_ids[name], "cache_key": key})
            if node.step.cache and key in known:
                hits.append((name, key, known[key]))
            else:
                self._submit(name, descs)
        if hits:
            self._serve_hits(hits, known)

    def _serve_hits(self, hits: list[tuple[str, str, str]], known: dict[str, str]) -> None:
        found = self._hit_outputs(sorted({h[2] for h in hits}), known)
        now = datetime.now(UTC)
        for name, key, src in hits:
            outputs = found.get(src, {})
            node = self.nodes[name]
            complete = set(outputs) == set(node.step.output_names) and all(
                d.get("ref_kind") or self._blob_ok(d["digest"]) for d in outputs.values()
            )
            if not complete:  # outputs were garbage-collected: run it again
                known.pop(key, None)
                self._submit(name, self._inputs(node)[0])
                continue
            self._succeed(
                name,
                outputs,
                {
                    "status": "cached",
                    "cached": True,
                    "cached_from": src,
                    "started_at": now,
                    "ended_at": now,
                    "duration_s": 0.0,
                    "executor": self.executor.name,
                },
            )

    def _hit_outputs(
        self, src_ids: list[str], known: dict[str, str]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Outputs of earlier step runs. The first call loads those of every known key at
        once (bounded), so a fully cached run makes a handful of queries, not one per step.
        """
        t, o = pipeline_step_runs, pipeline_step_outputs
        if self._prefetched is None and len(known) <= PREFETCH_LIMIT:
            self._prefetched = {}
            identities = sorted({n.step.identity for n in self.dag.nodes if n.step.cache})
            with self.ws.db.read() as conn:
                rows = conn.execute(
                    sa.select(o)
                    .join(t, t.c.id == o.c.step_run_id)
                    .where(t.c.step.in_(identities))
                    .where(t.c.status == "succeeded")
                )
                for r in rows:
                    self._prefetched.setdefault(r.step_run_id, {})[r.name] = output_desc(r)
        if self._prefetched is not None and all(i in self._prefetched for i in src_ids):
            return {i: {k: dict(v) for k, v in self._prefetched[i].items()} for i in src_ids}
        found: dict[str, dict[str, dict[str, Any]]] = {}
        with self.ws.db.read() as conn:
            for i in range(0, len(src_ids), 500):
                for r in conn.execute(
                    sa.select(o).where(o.c.step_run_id.in_(src_ids[i : i + 500]))
                ):
                    found.setdefault(r.step_run_id, {})[r.name] = output_desc(r)
        return found

    def _blob_ok(self, digest: str) -> bool:
        return not self.ws.blobs.is_local or self.ws.blobs.exists(digest)

    def _complete(self, name: str, h: Handle) -> None:
        self.running.pop(name, None)
        logs = h.logs()
        log_digest = None
        if logs:
            data = logs.encode()
            log_digest = hash_bytes(data)
            if self.rec.writer is not None:
                self.rec.writer.put(log_digest, data)
                self.rec.needs(self.step_ids[name], log_digest)
            else:
                self.ws.blobs.put_bytes(data)
        started = _ts(h.started_at)
        ended = _ts(h.ended_at) or datetime.now(UTC)
        duration = (h.ended_at - h.started_at) if h.started_at and h.ended_at else None
        base = {
            "log_digest": log_digest,
            "started_at": started,
            "ended_at": ended,
            "duration_s": duration,
        }
        if h.status == "succeeded":
            outputs = h.result()
            for d in outputs.values():
                if d.get("data") is not None and self.rec.writer is not None:
                    self.rec.writer.put(d["digest"], d["data"])
                    if self.consumers[name] == 0:
                        d.pop("data")
            self._succeed(name, outputs, {**base, "error": None, "traceback": None})
            return
        step = self.nodes[name].step
        if name in self.timed_out:
            error = f"timed out after {step.timeout:g}s: the step's process was killed"
            tb = None
        else:
            exc = h.exception()
            if isinstance(exc, TaskFailed):
                error, tb = exc.message, exc.remote_traceback
            else:
                error, tb = f"{type(exc).__name__}: {exc}", None
            if h.status == "cancelled":
                self._finish(name, "cancelled", {**base, "error": error})
                return
        attempt = self.attempts.get(name, 1)
        if attempt <= step.retries:
            delay = step.retry_delay * (2 ** (attempt - 1))
            heapq.heappush(self.retry_heap, (time.monotonic() + delay, name))
            self.timed_out.discard(name)
            self.rec.step(
                {
                    "id": self.step_ids[name],
                    "status": "pending",
                    "error": f"attempt {attempt} failed, retrying in {delay:g}s: {error}",
                    "traceback": tb,
                    **{k: v for k, v in base.items() if k != "started_at"},
                }
            )
            self._emit(name, "retrying", attempt=attempt, error=error)
            return
        self.errors[name] = error
        self._finish(name, "failed", {**base, "error": error, "traceback": tb})

    # ------------------------------------------------------------------ main loop
    def run(self) -> str:
        total = len(self.dag.nodes)
        for n in self.dag.nodes:
            p = self.prior.get(n.name)
            if p is not None and p.status in DONE_STATES:
                self.keys[n.name] = p.cache_key or ""
                self.outs[n.name] = p.outputs
                self.state[n.name] = p.status
                self.finished += 1
                self._emit(n.name, p.status, resumed=True)
        for n in self.dag.nodes:
            if n.name in self.state:
                for c in self.children[n.name]:
                    self.waiting[c] -= 1
        self.ready = [
            n.name for n in self.dag.nodes if n.name not in self.state and self.waiting[n.name] == 0
        ]
        known = self._known_keys()
        try:
            while self.finished < total:
                while self.ready:
                    wave, self.ready = self.ready, []
                    self._start(wave, known)
                    self._drain(block=False)
                    self.rec.maybe_flush()
                if self.finished >= total:
                    break
                self._drain(block=True)
                self._check_deadlines()
                self._due_retries()
                self.rec.maybe_flush()
        except BaseException:
            for name, (h, _t) in list(self.running.items()):
                h.cancel("the pipeline run was interrupted")
                self.state[name] = "cancelled"
                self.rec.step({"id": self.step_ids[name], "status": "cancelled"})
            raise
        failed = [n for n, s in self.state.items() if s == "failed"]
        return "failed" if failed else "succeeded"

    def _drain(self, block: bool) -> None:
        timeout = 0.05
        if self.retry_heap:
            timeout = max(0.0, min(timeout, self.retry_heap[0][0] - time.monotonic()))
        try:
            item = self.done_q.get(timeout=timeout) if block else self.done_q.get_nowait()
        except queue.Empty:
            return
        while True:
            self._complete(*item)
            try:
                item = self.done_q.get_nowait()
            except queue.Empty:
                return

    def _check_deadlines(self) -> None:
        now = time.time()
        for name, (h, timeout) in list(self.running.items()):
            if timeout is None or name in self.timed_out or h.started_at is None:
                continue
            if now - h.started_at > timeout:
                self.timed_out.add(name)
                h.cancel(f"timed out after {timeout:g}s")

    def _due_retries(self) -> None:
        now = time.monotonic()
        while self.retry_heap and self.retry_heap[0][0] <= now:
            _, name = heapq.heappop(self.retry_heap)
            self._submit(name, self._inputs(self.nodes[name])[0])


def _flat(descs: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for d in descs.values():
        out.extend(d if isinstance(d, list) else [d])
    return out


def new_step_ids(dag: Dag) -> dict[str, str]:
    return {n.name: new_id() for n in dag.nodes}
