"""``inline``: run each task in the calling thread, at submit time (for debugging).

Tasks run one after another with full access to the debugger; ``cancel`` and
timeouts cannot interrupt them. Output is captured into the handle's logs and also
printed. Resources are checked against the machine but not reserved.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from ._base import (
    Executor,
    Handle,
    TaskContext,
    TaskFailed,
    reset_current,
    set_current,
    task_id,
)
from ._capture import capture_output
from ._resources import Resources, machine


class InlineExecutor(Executor):
    name = "inline"

    def __init__(self, *, capture: bool = True, tee: bool = True) -> None:
        self._capture = capture
        self._tee = tee

    def capacity(self) -> Resources:
        m = machine()
        return Resources(cpus=m.cpus, gpus=len(m.gpus), memory=m.memory)

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
        handle._set_running(time.time())
        ctx = TaskContext(handle.id, handle._add_message)
        handle._stop_hook = ctx.stop_event.set
        token = set_current(ctx)
        try:
            if self._capture:
                with capture_output(handle._add_log, tee=self._tee):
                    value = fn(*args, **kwargs)
            else:
                value = fn(*args, **kwargs)
        except Exception as exc:
            handle._set_error(
                TaskFailed(
                    f"task {name or handle.id} failed: {type(exc).__name__}: {exc}",
                    remote_traceback=traceback.format_exc(),
                    exc_type=type(exc).__name__,
                ),
                time.time(),
            )
        else:
            handle._set_result(value, time.time())
        finally:
            reset_current(token)
        return handle
