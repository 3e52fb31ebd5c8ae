"""``local``: a warm pool of worker processes that never over-commits the machine.

Every task declares :class:`Resources`; the executor keeps a budget of CPUs, GPU
indices and memory (the machine's, or less when given) and starts a task only when
its needs fit next to the running ones. GPUs are handed out by index through
``CUDA_VISIBLE_DEVICES``, fixed when a worker starts (CUDA reads it once), so a worker
is only reused by tasks given the same GPUs; CPU-only tasks see no GPU.

Workers start with ``forkserver`` (``spawn`` where unavailable): safe for PyTorch and
CUDA, unlike ``fork``. They stay warm between tasks, so a task costs a pipe round
trip rather than a process start. Cancelling a running task kills its worker (and
any program it started); a fresh worker replaces it when needed.

As with :mod:`multiprocessing`, a script that submits work must guard its entry
point with ``if __name__ == "__main__":``, because workers import the main module.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle

from ..core import ConfigurationError, new_id
from ._base import Executor, Handle, TaskFailed, task_id
from ._resources import Resources, machine, parse_memory


@dataclass
class _Task:
    handle: Handle
    payload: bytes
    resources: Resources
    gpus: tuple[int, ...] = ()
    worker: _Worker | None = None
    cancelled: bool = False


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    gpu_tag: tuple[int, ...]
    task: _Task | None = None
    used: bool = False
    closing: bool = False
    env_version: int = 0
    id: str = field(default_factory=new_id)


class LocalExecutor(Executor):
    """A process pool with resource accounting (see the module docstring).

    ``cpus``, ``gpus`` and ``memory`` cap the budget below the machine's;
    ``max_workers`` caps concurrent tasks (default: one per budgeted CPU).
    """

    name = "local"

    def __init__(
        self,
        *,
        cpus: float | None = None,
        gpus: int | None = None,
        memory: str | int | None = None,
        max_workers: int | None = None,
        start_method: str | None = None,
    ) -> None:
        m = machine()
        if cpus is not None and (cpus <= 0 or cpus > m.cpus):
            raise ConfigurationError(
                f"local executor: cpus={cpus} is outside this machine's 1..{m.cpus} CPUs"
            )
        if gpus is not None and (gpus < 0 or gpus > len(m.gpus)):
            raise ConfigurationError(
                f"local executor: gpus={gpus} but this machine has {len(m.gpus)} GPU(s)"
            )
        self._cpus = float(cpus if cpus is not None else m.cpus)
        self._gpus = m.gpus if gpus is None else m.gpus[:gpus]
        self._memory = parse_memory(memory) if memory is not None else m.memory
        if self._memory > m.memory:
            raise ConfigurationError(
                f"local executor: memory={memory} exceeds this machine's {m.memory} bytes"
            )
        self._max_workers = max_workers or max(1, math.floor(self._cpus))
        method = start_method or (
            "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        )
        if method == "fork":
            raise ConfigurationError(
                "local executor: start_method='fork' is unsafe with PyTorch and threads; "
                "use 'forkserver' or 'spawn'"
            )
        self._ctx = mp.get_context(method)
        if method == "forkserver":
            self._ctx.set_forkserver_preload(["shipyard.compute._worker"])
        self._lock = threading.RLock()
        self._pending: list[_Task] = []
        self._workers: list[_Worker] = []
        self._tasks: dict[str, _Task] = {}
        self._used_cpus = 0.0
        self._used_memory = 0
        self._free_gpus = set(self._gpus)
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._closed = False
        self._env = dict(os.environ)
        self._env_version = 0
        self._thread = threading.Thread(
            target=self._loop, daemon=True, name="shipyard-local-executor"
        )
        self._thread.start()

    # ---------------------------------------------------------------- contract
    def capacity(self) -> Resources:
        return Resources(cpus=self._cpus, gpus=len(self._gpus), memory=self._memory)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        resources: Resources | None = None,
        name: str = "",
        **kwargs: Any,
    ) -> Handle:
        if self._closed:
            raise ConfigurationError("this local executor was shut down; create a new one")
        resources = resources or Resources()
        self.check(resources)
        payload = cloudpickle.dumps((fn, args, kwargs))
        handle = Handle(task_id(), self.name, resources, name)
        task = _Task(handle, payload, resources)
        handle._cancel_hook = lambda: self._cancel(task)
        handle._stop_hook = lambda: self._send_stop(task)
        with self._lock:
            self._tasks[handle.id] = task
            self._pending.append(task)
        self._wake()
        return handle

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending, self._pending = self._pending, []
        for t in pending:
            t.handle._set_cancelled(time.time())
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            if w.task is not None:
                w.task.cancelled = True
                self._kill(w)
            else:
                try:
                    w.conn.send_bytes(pickle.dumps(("exit",)))
                except OSError:
                    pass
        self._wake()
        if wait:
            self._thread.join(10)
            for w in workers:
                w.proc.join(5)
                if w.proc.is_alive():
                    w.proc.kill()

    @property
    def running(self) -> int:
        with self._lock:
            return sum(1 for w in self._workers if w.task is not None)

    # ---------------------------------------------------------------- internals
    def _wake(self) -> None:
        try:
            with self._lock:
                self._wake_w.send_bytes(b"")
        except OSError:
            pass

    def _cancel(self, task: _Task) -> bool:
        with self._lock:
            if task.handle.done():
                return False
            if task in self._pending:
                self._pending.remove(task)
                self._tasks.pop(task.handle.id, None)
                task.handle._set_cancelled(time.time())
                return True
            task.cancelled = True
            worker = task.worker
        if worker is not None:
            self._kill(worker)
        return True

    def _send_stop(self, task: _Task) -> None:
        worker = task.worker
        if worker is not None:
            try:
                worker.conn.send_bytes(pickle.dumps(("stop", task.handle.id)))
            except OSError:
                pass

    def _kill(self, worker: _Worker) -> None:
        worker.closing = True
        try:
            worker.proc.terminate()
        except Exception:
            pass

        def _hard_kill() -> None:
            worker.proc.join(3)
            if worker.proc.is_alive():
                worker.proc.kill()

        threading.Thread(target=_hard_kill, daemon=True).start()

    def _spawn(self, gpu_tag: tuple[int, ...]) -> _Worker:
        from ._worker import worker_main

        parent, child = self._ctx.Pipe(duplex=True)
        env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpu_tag)
        proc = self._ctx.Process(  # type: ignore[attr-defined]
            target=worker_main, args=(child, env), daemon=True, name="shipyard-worker"
        )
        proc.start()
        child.close()
        w = _Worker(proc=proc, conn=parent, gpu_tag=gpu_tag, env_version=self._env_version)
        self._workers.append(w)
        return w

    def _fits(self, r: Resources) -> bool:
        return (
            self._used_cpus + r.cpus <= self._cpus + 1e-9
            and self._used_memory + r.memory_bytes <= self._memory
            and r.gpus <= len(self._free_gpus)
        )

    def _dispatch(self) -> None:
        with self._lock:
            if self._closed:
                return
            for task in list(self._pending):
                busy = sum(1 for w in self._workers if w.task is not None)
                if busy >= self._max_workers:
                    return
                r = task.resources
                if not self._fits(r):
                    continue
                gpus = tuple(sorted(self._free_gpus)[: r.gpus])
                worker = next(
                    (
                        w
                        for w in self._workers
                        if w.task is None and not w.closing and w.gpu_tag == gpus
                    ),
                    None,
                )
                if worker is None:
                    idle = [w for w in self._workers if w.task is None and not w.closing]
                    if len(self._workers) - sum(w.closing for w in self._workers) >= (
                        self._max_workers
                    ):
                        if not idle:
                            return
                        victim = idle[0]
                        victim.closing = True
                        try:
                            victim.conn.send_bytes(pickle.dumps(("exit",)))
                        except OSError:
                            pass
                    worker = self._spawn(gpus)
                self._pending.remove(task)
                task.gpus = gpus
                task.worker = worker
                worker.task = task
                worker.used = True
                self._used_cpus += r.cpus
                self._used_memory += r.memory_bytes
                self._free_gpus -= set(gpus)
                if os.environ != self._env:  # the driver's environment changed: pass it on
                    self._env = dict(os.environ)
                    self._env_version += 1
                env = None
                if worker.env_version != self._env_version:
                    env = {k: v for k, v in self._env.items() if k != "CUDA_VISIBLE_DEVICES"}
                    worker.env_version = self._env_version
                try:
                    worker.conn.send_bytes(
                        pickle.dumps(("run", task.handle.id, task.payload, env), protocol=5)
                    )
                except OSError:
                    pass  # the loop sees the worker die and fails the task

    def _release(self, task: _Task) -> None:
        self._used_cpus -= task.resources.cpus
        self._used_memory -= task.resources.memory_bytes
        self._free_gpus |= set(task.gpus)
        self._tasks.pop(task.handle.id, None)
        if task.worker is not None:
            task.worker.task = None
        task.worker = None

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed and not any(w.task for w in self._workers):
                    conns_alive = False
                else:
                    conns_alive = True
                by_conn = {w.conn: w for w in self._workers}
            if not conns_alive:
                return
            ready = wait([self._wake_r, *by_conn], timeout=1.0)
            for c in ready:
                if c is self._wake_r:
                    try:
                        while self._wake_r.poll():
                            self._wake_r.recv_bytes()
                    except (EOFError, OSError):
                        return
                    continue
                w = by_conn[c]  # type: ignore[index]
                try:
                    msg = pickle.loads(w.conn.recv_bytes())
                except (EOFError, OSError):
                    self._worker_died(w)
                    continue
                self._on_message(w, msg)
            self._dispatch()

    def _on_message(self, w: _Worker, msg: tuple[Any, ...]) -> None:
        kind, task_id = msg[0], msg[1]
        task = w.task
        if task is None or task.handle.id != task_id:
            return
        h = task.handle
        if kind == "start":
            h._set_running(msg[2])
        elif kind == "log":
            h._add_log(msg[2])
        elif kind == "msg":
            try:
                h._add_message(cloudpickle.loads(msg[2]))
            except Exception:
                pass
        elif kind == "done":
            ok, body, ended = msg[2], msg[3], msg[4]
            with self._lock:
                self._release(task)
            if ok:
                try:
                    value = cloudpickle.loads(body)
                except Exception as exc:
                    h._set_error(
                        TaskFailed(
                            f"task {h.name or h.id}: its result cannot be loaded in the "
                            f"driver: {type(exc).__name__}: {exc}",
                            exc_type=type(exc).__name__,
                        ),
                        ended,
                    )
                else:
                    h._set_result(value, ended)
            else:
                exc_type, text, tb = body
                h._set_error(
                    TaskFailed(
                        f"task {h.name or h.id} failed: {exc_type}: {text}",
                        remote_traceback=tb,
                        exc_type=exc_type,
                    ),
                    ended,
                )

    def _worker_died(self, w: _Worker) -> None:
        with self._lock:
            if w in self._workers:
                self._workers.remove(w)
            task = w.task
            if task is not None:
                self._release(task)
        try:
            w.conn.close()
        except OSError:
            pass
        w.proc.join(1)
        if task is None:
            return
        h = task.handle
        if task.cancelled:
            h._set_cancelled(time.time())
        else:
            code = w.proc.exitcode
            h._set_error(
                TaskFailed(
                    f"task {h.name or h.id}: its worker process died (exit code {code}); "
                    "it may have run out of memory or crashed in native code",
                    exc_type="WorkerDied",
                ),
                time.time(),
            )
