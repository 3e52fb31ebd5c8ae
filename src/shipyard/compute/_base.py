"""The executor contract: submit work with resources, get a handle back.

Contract
--------
* ``Executor.submit(fn, *args, resources=Resources(), **kwargs) -> Handle`` schedules
  ``fn(*args, **kwargs)``. The callable and its arguments must be picklable (cloudpickle)
  for every backend except ``inline``. ``submit_command(argv, ...)`` runs a program.
* ``submit`` refuses up front (:class:`ResourcesUnavailable`) a task that could never
  fit the executor's capacity; it never blocks waiting for capacity, and never runs
  tasks whose declared needs together exceed it.
* ``Handle.result(timeout)`` returns the value or raises :class:`TaskFailed` (the
  task raised; ``.remote_traceback`` holds its traceback), :class:`TaskCancelled` or
  ``TimeoutError`` when *timeout* passes first (the task keeps running).
* ``Handle.cancel()`` stops a queued task, and kills a running one (its process on
  ``local``, ``ray.cancel(force=True)`` on ``ray``; ``inline`` tasks have finished
  already). Returns True if the task will not complete normally.
* ``Handle.logs()`` returns what the task wrote to ``sys.stdout``/``sys.stderr`` (a
  command: its whole output) so far; it grows while the task runs.
* A channel back to the driver: inside a task, :func:`report` sends a picklable
  message; the driver reads them with ``Handle.messages()`` (non-blocking) or
  ``Handle.next_message(timeout)``. ``Handle.request_stop()`` asks a cooperative task
  to stop: inside it, :func:`should_stop` turns True.
* Handles are thread-safe. ``add_done_callback(fn)`` calls ``fn(handle)`` once the task
  finished (from an executor thread).
"""

from __future__ import annotations

import contextvars
import itertools
import os
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ..core import InvalidInput, ShipyardError
from ._resources import Resources

PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})


_task_counter = itertools.count(1)
_task_prefix = os.urandom(4).hex()


def task_id() -> str:
    """A unique task id, cheap enough for thousands of tasks a second."""
    return f"t{_task_prefix}{os.getpid():x}-{next(_task_counter)}"


class ResourcesUnavailable(InvalidInput):
    """A task asks for more than the executor could ever give it."""


class TaskFailed(ShipyardError):
    """The task raised; the message holds its exception, ``remote_traceback`` the trace."""

    def __init__(
        self,
        message: str,
        *,
        remote_traceback: str = "",
        exc_type: str = "",
        timed_out: bool = False,
    ) -> None:
        super().__init__(message, details={"type": exc_type, "timed_out": timed_out})
        self.remote_traceback = remote_traceback
        self.exc_type = exc_type
        self.timed_out = timed_out


class TaskCancelled(ShipyardError):
    """The task was cancelled before it finished."""

    http_status = 409


class TaskContext:
    """The running task's side of the channel (see :func:`report`, :func:`should_stop`)."""

    def __init__(self, task_id: str, send: Callable[[Any], None]) -> None:
        self.task_id = task_id
        self._send = send
        self.stop_event = threading.Event()

    def report(self, message: Any) -> None:
        self._send(message)

    def should_stop(self) -> bool:
        return self.stop_event.is_set()


_current: contextvars.ContextVar[TaskContext | None] = contextvars.ContextVar(
    "shipyard_task", default=None
)


def current_task() -> TaskContext | None:
    """The context of the task running in this thread, or None outside a task."""
    return _current.get()


def report(message: Any) -> None:
    """Send *message* from the running task to the driver (``Handle.messages()``).

    Outside a task this does nothing, so functions work both ways.
    """
    ctx = _current.get()
    if ctx is not None:
        ctx.report(message)


def should_stop() -> bool:
    """True once the driver called ``Handle.request_stop()`` for the running task."""
    ctx = _current.get()
    return ctx is not None and ctx.should_stop()


def set_current(ctx: TaskContext | None) -> contextvars.Token[TaskContext | None]:
    return _current.set(ctx)


def reset_current(token: contextvars.Token[TaskContext | None]) -> None:
    _current.reset(token)


class Handle:
    """One submitted task. Backends fill it in through the ``_set_*`` methods."""

    def __init__(self, task_id: str, executor: str, resources: Resources, name: str = "") -> None:
        self.id = task_id
        self.executor = executor
        self.resources = resources
        self.name = name
        self._future: Future[Any] = Future()
        self._status = PENDING
        self._logs: list[str] = []
        self._messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._cancel_hook: Callable[[], bool] | None = None
        self._stop_hook: Callable[[], None] | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.cancel_reason = ""

    # ------------------------------------------------------------ driver side
    @property
    def status(self) -> str:
        return self._status

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(
                f"task {self.name or self.id} did not finish within {timeout}s"
            ) from None
        except CancelledError:
            raise TaskCancelled(
                f"task {self.name or self.id} was cancelled{self.cancel_reason}"
            ) from None

    def exception(self, timeout: float | None = None) -> BaseException | None:
        try:
            self.result(timeout)
        except TimeoutError:
            raise
        except BaseException as exc:
            return exc
        return None

    def cancel(self, reason: str = "") -> bool:
        if self.done():
            return self._status == CANCELLED
        if reason:
            self.cancel_reason = f" ({reason})"
        hook = self._cancel_hook
        return hook() if hook is not None else False

    def request_stop(self) -> None:
        if self._stop_hook is not None and not self.done():
            self._stop_hook()

    def logs(self) -> str:
        with self._lock:
            return "".join(self._logs)

    def messages(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self._messages.get_nowait())
            except queue.Empty:
                return out

    def next_message(self, timeout: float | None = None) -> Any:
        """The next message from the task; raise TimeoutError if none came in time."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no message from task {self.name or self.id}") from None

    def add_done_callback(self, fn: Callable[[Handle], None]) -> None:
        self._future.add_done_callback(lambda _f: fn(self))

    def __repr__(self) -> str:
        return f"<Handle {self.name or self.id} {self.executor} {self._status}>"

    # ----------------------------------------------------------- backend side
    def _set_running(self, started_at: float) -> None:
        self.started_at = started_at
        if self._future.set_running_or_notify_cancel():
            self._status = RUNNING

    def _add_log(self, text: str) -> None:
        with self._lock:
            self._logs.append(text)

    def _add_message(self, message: Any) -> None:
        self._messages.put(message)

    def _set_result(self, value: Any, ended_at: float) -> None:
        if self._future.done():
            return
        self.ended_at = ended_at
        self._status = SUCCEEDED
        self._future.set_result(value)

    def _set_error(self, error: BaseException, ended_at: float) -> None:
        if self._future.done():
            return
        self.ended_at = ended_at
        self._status = FAILED
        self._future.set_exception(error)

    def _set_cancelled(self, ended_at: float) -> None:
        if self._future.done():
            return
        self.ended_at = ended_at
        self._status = CANCELLED
        if self._future.running():
            # A running future cannot be cancelled: finish it with TaskCancelled instead.
            self._future.set_exception(
                TaskCancelled(f"task {self.name or self.id} was cancelled{self.cancel_reason}")
            )
        else:
            self._future.cancel()
            self._future.set_running_or_notify_cancel()


class Executor(ABC):
    """Runs callables and commands with declared resources (see the module contract)."""

    name: str = ""

    @abstractmethod
    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        resources: Resources | None = None,
        name: str = "",
        **kwargs: Any,
    ) -> Handle:
        """Schedule ``fn(*args, **kwargs)``; return its handle at once."""

    def submit_command(
        self,
        argv: Sequence[str],
        *,
        resources: Resources | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        name: str = "",
    ) -> Handle:
        """Run a program; the handle's result is its exit code, its logs the output."""
        from ._command import run_command

        if not argv:
            raise InvalidInput("empty command: give the program to run, e.g. python train.py")
        return self.submit(
            run_command, list(argv), env, cwd, resources=resources, name=name or argv[0]
        )

    @abstractmethod
    def capacity(self) -> Resources:
        """The most one task may ask for (the whole machine or cluster)."""

    def check(self, resources: Resources) -> None:
        """Raise ResourcesUnavailable if *resources* could never fit."""
        checked: set[Resources] = self.__dict__.setdefault("_checked", set())
        if resources in checked:
            return
        self._check(resources)
        checked.add(resources)

    def _check(self, resources: Resources) -> None:
        cap = self.capacity()
        too_big = []
        if resources.cpus > cap.cpus:
            too_big.append(f"{resources.cpus:g} CPUs (capacity {cap.cpus:g})")
        if resources.gpus > cap.gpus:
            too_big.append(f"{resources.gpus} GPUs (capacity {cap.gpus})")
        if resources.memory_bytes > cap.memory_bytes:
            from ._resources import format_memory

            too_big.append(
                f"{format_memory(resources.memory_bytes)} memory "
                f"(capacity {format_memory(cap.memory_bytes)})"
            )
        if too_big:
            raise ResourcesUnavailable(
                f"the {self.name} executor cannot run a task asking for "
                f"{', '.join(too_big)}: lower the task's Resources or use an executor "
                "with more capacity (executor='ray' on a cluster)",
                details={"requested": resources.to_dict(), "capacity": cap.to_dict()},
            )

    def shutdown(self, wait: bool = True) -> None:  # noqa: B027 - optional for backends
        """Release workers. Pending tasks are cancelled."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
