"""Running one step, in whatever process the executor chose.

The task carries everything the step needs: the workspace settings (a worker opens
its own Workspace, once per process), the pickled function, parameters, and where
its inputs are (digests, or references to datasets and runs). Outputs go to the blob
store before the task returns, so that a step recorded as done has durable outputs.
"""

from __future__ import annotations

import contextvars
import hashlib
import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from ..core import InvalidInput, Settings, hash_bytes
from ..store import Node, producing
from . import _materializers as mats

_lock = threading.Lock()
_workspaces: dict[str, Any] = {}
_functions: OrderedDict[str, Any] = OrderedDict()
_writers: dict[str, AsyncBlobWriter] = {}
_recent: OrderedDict[str, Any] = OrderedDict()  # digest → immutable scalar value
_RECENT_MAX = 4096
INLINE_LIMIT = 256 * 1024
"""Outputs up to this size travel back to the driver, which stores them."""


_current_ws: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "shipyard_step_workspace", default=None
)


def current_workspace() -> Any:
    """The Workspace of the pipeline step running in this thread (None outside steps).

    Inside a step, ``current_workspace().datasets.get("churn@2")`` reads data and
    ``current_workspace().start_run(...)`` tracks a run, linked to the step in lineage.
    """
    return _current_ws.get()


class AsyncBlobWriter:
    """Writes blobs on background threads; ``flush`` waits for all of them.

    The next step can read pending bytes from memory (``get``), and records that
    reference a digest are committed only once it is durable (``pending``/``flush``).
    """

    def __init__(self, blobs: Any, workers: int = 2) -> None:
        self._blobs = blobs
        self._queue: queue.SimpleQueue[tuple[bytes, Future[Any]] | None] = queue.SimpleQueue()
        self._pending: dict[str, tuple[bytes, Future[Any]]] = {}
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name="shipyard-blob-writer")
            for _ in range(workers)
        ]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            data, fut = item
            try:
                self._blobs.put_bytes(data)
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(None)

    def put(self, digest: str, data: bytes) -> None:
        with self._lock:
            if digest in self._pending:
                return
            fut: Future[Any] = Future()
            self._pending[digest] = (data, fut)
        self._queue.put((data, fut))

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            item = self._pending.get(digest)
        return item[0] if item else None

    def pending(self) -> set[str]:
        """Digests not yet durable (finished writes are forgotten here)."""
        with self._lock:
            for digest in [d for d, (_b, f) in self._pending.items() if f.done()]:
                self._pending.pop(digest)[1].result()  # re-raise a failed write
            return set(self._pending)

    def wait(self, digest: str) -> None:
        """Block until *digest* is durable (no-op if it is not pending)."""
        with self._lock:
            item = self._pending.get(digest)
        if item is not None:
            item[1].result()

    def flush(self) -> None:
        with self._lock:
            items = list(self._pending.items())
        for _digest, (_data, fut) in items:
            fut.result()
        with self._lock:
            for digest, (_data, fut) in items:
                if self._pending.get(digest, (None, None))[1] is fut:
                    del self._pending[digest]

    def close(self) -> None:
        self.flush()
        for _ in self._threads:
            self._queue.put(None)


def _key(settings: Settings) -> str:
    return repr(settings)


def register_workspace(ws: Any, writer: AsyncBlobWriter | None = None) -> None:
    """Let steps running in this process use *ws* (the driver's) instead of reopening it."""
    with _lock:
        _workspaces[_key(ws.settings)] = ws
        if writer is not None:
            _writers[_key(ws.settings)] = writer


def unregister_writer(ws: Any) -> None:
    with _lock:
        _writers.pop(_key(ws.settings), None)


def worker_workspace(settings: Settings) -> Any:
    key = _key(settings)
    with _lock:
        ws = _workspaces.get(key)
        if ws is None:
            from .._workspace import Workspace

            ws = Workspace(settings=settings)
            _workspaces[key] = ws
        return ws


def _function(fn_bytes: bytes) -> Any:
    key = hashlib.sha256(fn_bytes).hexdigest()
    with _lock:
        fn = _functions.get(key)
        if fn is not None:
            _functions.move_to_end(key)
            return fn
    fn = cloudpickle.loads(fn_bytes)
    with _lock:
        _functions[key] = fn
        if len(_functions) > 256:
            _functions.popitem(last=False)
    return fn


@dataclass
class StepTask:
    settings: Settings
    run_id: str
    step_run_id: str
    pipeline: str
    name: str
    fn: Any = None  # the function itself (inline) …
    fn_bytes: bytes | None = None  # … or pickled (other processes)
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # arg → descriptor | [descriptor]
    outputs: tuple[str, ...] | None = None
    varargs: str | None = None  # name of a *args parameter
    varkw: str | None = None  # name of a **kwargs parameter
    positional: tuple[str, ...] = ()  # parameters passed by position (before *args)


def _load(ws: Any, desc: dict[str, Any]) -> Any:
    if desc.get("ref_kind"):
        kind, ref_id = desc["ref_kind"], desc["ref_id"]
        if kind == "dataset_version":
            return ws.datasets.get(ref_id)
        if kind == "run":
            return ws.runs.get(ref_id)
        raise InvalidInput(f"cannot load an object of kind {kind!r} by reference")
    digest = desc["digest"]
    if desc.get("data") is not None:
        return mats.load(desc["materializer"], desc["data"])
    with _lock:
        if digest in _recent:
            return _recent[digest]
        writer = _writers.get(_key(ws.settings))
    data = writer.get(digest) if writer is not None else None
    if data is None:
        data = ws.blobs.get_bytes(digest)
    return mats.load(desc["materializer"], data)


def _store(ws: Any, value: Any, step: str, output: str) -> dict[str, Any]:
    ref = mats.ref_of(value)
    type_name = f"{type(value).__module__}.{type(value).__qualname__}"
    if ref is not None:
        return {
            "materializer": "ref",
            "type": type_name,
            "digest": None,
            "size": None,
            "ref_kind": ref[0],
            "ref_id": ref[1],
            "preview": f"{ref[0]} {getattr(value, 'ref', None) or ref[1]}",
        }
    name, data = mats.dump(value, step, output)
    digest = hash_bytes(data)
    with _lock:
        writer = _writers.get(_key(ws.settings))
        if isinstance(value, int | float | str | bool | bytes | type(None)):
            _recent[digest] = value
            if len(_recent) > _RECENT_MAX:
                _recent.popitem(last=False)
    inline_data = None
    if writer is not None:
        writer.put(digest, data)
    elif len(data) <= INLINE_LIMIT:
        inline_data = data  # the driver stores it; no blob write on this step's path
    elif not ws.blobs.exists(digest):
        ws.blobs.put_bytes(data)
    return {
        "data": inline_data,
        "materializer": name,
        "type": type_name,
        "digest": digest,
        "size": len(data),
        "ref_kind": None,
        "ref_id": None,
        "preview": mats.preview(value),
    }


def execute_step(task: StepTask) -> dict[str, Any]:
    """Load inputs, run the step inside ``producing(step_node)``, store its outputs."""
    ws = worker_workspace(task.settings)
    fn = task.fn if task.fn is not None else _function(task.fn_bytes or b"")
    kwargs = dict(task.params)
    for arg, desc in task.inputs.items():
        kwargs[arg] = [_load(ws, d) for d in desc] if isinstance(desc, list) else _load(ws, desc)
    node = Node("step_run", task.step_run_id, f"{task.pipeline}/{task.name}")
    args = [kwargs.pop(p) for p in task.positional if p in kwargs]
    args += list(kwargs.pop(task.varargs, ())) if task.varargs else []
    extra = dict(kwargs.pop(task.varkw, {})) if task.varkw else {}
    token = _current_ws.set(ws)
    try:
        with producing(node):
            value = fn(*args, **kwargs, **extra)
    finally:
        _current_ws.reset(token)
    names = task.outputs or ("output",)
    if task.outputs is not None:
        if not isinstance(value, tuple | list) or len(value) != len(names):
            raise mats.UnmaterializableOutput(
                f"step {task.name!r} declares {len(names)} outputs {list(names)} but "
                f"returned {type(value).__name__}"
                + (f" of length {len(value)}" if isinstance(value, tuple | list) else "")
                + "; return a tuple with one value per output",
                details={"step": task.name},
            )
        values = list(value)
    else:
        values = [value]
    return {n: _store(ws, v, task.name, n) for n, v in zip(names, values, strict=True)}
