"""``ray``: Ray tasks with ``num_cpus`` / ``num_gpus`` / ``memory`` from :class:`Resources`.

``RayExecutor(address=None)`` joins the Ray instance named by *address*
(``"ray://head:10001"``, ``"auto"``) or starts a local one. Nothing Shipyard-specific
runs on the cluster: tasks are plain Ray tasks and Ray does the resource accounting.

Output printed by a task is captured and streamed back, with :func:`report` messages,
through one Ray queue (an actor) per executor, created on first use.
``request_stop`` is delivered through a small flag actor per task when requested.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import cloudpickle

from ..core import MissingExtra
from ._base import Executor, Handle, TaskContext, TaskFailed, reset_current, set_current, task_id
from ._capture import capture_output
from ._resources import Resources


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingExtra("the ray executor", "ray", "ray") from None
    return ray


def _ray_task(payload: bytes, task_id: str, channel: Any) -> Any:
    """Runs on a Ray worker: unpickle, run with output capture, return the value."""
    fn, args, kwargs = cloudpickle.loads(payload)
    buf: list[str] = []

    def send(message: Any) -> None:
        channel.put((task_id, "msg", cloudpickle.dumps(message)))

    def sink(s: str) -> None:
        buf.append(s)
        if sum(len(b) for b in buf) > 4096:
            channel.put((task_id, "log", "".join(buf)))
            buf.clear()

    token = set_current(TaskContext(task_id, send))
    try:
        with capture_output(sink, tee=False):
            value = fn(*args, **kwargs)
        return ("ok", cloudpickle.dumps(value))
    except BaseException as exc:
        return ("error", (type(exc).__name__, str(exc), traceback.format_exc()))
    finally:
        reset_current(token)
        if buf:
            channel.put((task_id, "log", "".join(buf)))


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, *, address: str | None = None, **init_options: Any) -> None:
        ray = _import_ray()
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, **init_options)
        self._remote = ray.remote(_ray_task)
        self._lock = threading.Lock()
        self._refs: dict[Any, Handle] = {}
        self._handles: dict[str, Handle] = {}
        self._channel: Any = None
        self._closed = False
        self._poller: threading.Thread | None = None

    def capacity(self) -> Resources:
        total = self._ray.cluster_resources()
        return Resources(
            cpus=float(total.get("CPU", 0)),
            gpus=int(total.get("GPU", 0)),
            memory=int(total.get("memory", 0)),
        )

    def _ensure_channel(self) -> Any:
        if self._channel is None:
            from ray.util.queue import Queue

            self._channel = Queue()
        return self._channel

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        resources: Resources | None = None,
        name: str = "",
        **kwargs: Any,
    ) -> Handle:
        resources = resources or Resources()
        self.check(resources)
        handle = Handle(task_id(), self.name, resources, name)
        payload = cloudpickle.dumps((fn, args, kwargs))
        options: dict[str, Any] = {"num_cpus": resources.cpus, "num_gpus": resources.gpus}
        if resources.memory_bytes:
            options["memory"] = resources.memory_bytes
        if name:
            options["name"] = name
        with self._lock:
            channel = self._ensure_channel()
            ref = self._remote.options(**options).remote(payload, handle.id, channel)
            self._refs[ref] = handle
            self._handles[handle.id] = handle
            if self._poller is None:
                self._poller = threading.Thread(
                    target=self._poll, daemon=True, name="shipyard-ray-poller"
                )
                self._poller.start()
        handle._set_running(time.time())

        def _cancel() -> bool:
            handle.cancel_reason = handle.cancel_reason or ""
            self._ray.cancel(ref, force=True)
            return True

        handle._cancel_hook = _cancel
        return handle

    def _drain_channel(self) -> None:
        if self._channel is None:
            return
        try:
            items = self._channel.get_nowait_batch(self._channel.qsize())
        except Exception:
            return
        for tid, kind, body in items:
            h = self._handles.get(tid)
            if h is None:
                continue
            if kind == "log":
                h._add_log(body)
            else:
                h._add_message(cloudpickle.loads(body))

    def _poll(self) -> None:
        ray = self._ray
        while not self._closed:
            with self._lock:
                refs = list(self._refs)
            if not refs:
                self._drain_channel()
                time.sleep(0.05)
                continue
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0.05, fetch_local=False)
            self._drain_channel()
            for ref in done:
                with self._lock:
                    h = self._refs.pop(ref)
                self._finish(ref, h)

    def _finish(self, ref: Any, h: Handle) -> None:
        ray = self._ray
        now = time.time()
        try:
            kind, body = ray.get(ref)
        except (ray.exceptions.TaskCancelledError, ray.exceptions.WorkerCrashedError) as exc:
            if isinstance(exc, ray.exceptions.TaskCancelledError) or h.cancel_reason:
                h._set_cancelled(now)
            else:
                h._set_error(TaskFailed(f"task {h.name or h.id}: {exc}"), now)
            return
        except Exception as exc:
            if h.cancel_reason:
                h._set_cancelled(now)
                return
            h._set_error(
                TaskFailed(
                    f"task {h.name or h.id} failed on Ray: {type(exc).__name__}: {exc}",
                    exc_type=type(exc).__name__,
                ),
                now,
            )
            return
        finally:
            self._handles.pop(h.id, None)
        if kind == "ok":
            h._set_result(cloudpickle.loads(body), now)
        else:
            exc_type, text, tb = body
            h._set_error(
                TaskFailed(
                    f"task {h.name or h.id} failed: {exc_type}: {text}",
                    remote_traceback=tb,
                    exc_type=exc_type,
                ),
                now,
            )

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        if self._poller is not None and wait:
            self._poller.join(5)
