"""The worker process of the ``local`` executor.

A worker runs one task at a time in its main thread. A reader thread receives
``run`` / ``stop`` / ``exit`` messages from the driver; output and ``report`` messages
go back on the same pipe. If the driver dies (the pipe closes) the worker kills any
command it started and exits, so no orphan keeps running.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from ._base import TaskContext, reset_current, set_current
from ._capture import capture_output
from ._command import kill_children

_LOG_FLUSH_S = 0.2


def _terminate(_signum: int, _frame: Any) -> None:
    kill_children()
    os._exit(143)


def worker_main(conn: Connection, env: dict[str, str]) -> None:
    os.environ.update(env)
    signal.signal(signal.SIGTERM, _terminate)
    send_lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> None:
        data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        with send_lock:
            conn.send_bytes(data)

    inbox: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
    current: dict[str, TaskContext | None] = {"ctx": None}

    def reader() -> None:
        while True:
            try:
                msg = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                kill_children()
                os._exit(0)
            if msg[0] == "run":
                inbox.put(msg)
            elif msg[0] == "stop":
                ctx = current["ctx"]
                if ctx is not None and ctx.task_id == msg[1]:
                    ctx.stop_event.set()
            elif msg[0] == "exit":
                inbox.put(None)
                return

    threading.Thread(target=reader, daemon=True, name="shipyard-worker-reader").start()

    while True:
        item = inbox.get()
        if item is None:
            break
        _, task_id, payload, env = item
        if env is not None:  # the driver's environment changed since this worker started
            for key in set(os.environ) - set(env) - {"CUDA_VISIBLE_DEVICES"}:
                del os.environ[key]
            os.environ.update(env)
        _run_one(task_id, payload, send, current)


def _run_one(
    task_id: str,
    payload: bytes,
    send: Any,
    current: dict[str, TaskContext | None],
) -> None:
    buf: list[str] = []
    buf_lock = threading.Lock()
    done = threading.Event()

    def flush() -> None:
        with buf_lock:
            text = "".join(buf)
            buf.clear()
        if text:
            send(("log", task_id, text))

    def sink(s: str) -> None:
        with buf_lock:
            buf.append(s)

    def flusher() -> None:
        while not done.wait(_LOG_FLUSH_S):
            flush()

    ctx = TaskContext(task_id, lambda m: send(("msg", task_id, cloudpickle.dumps(m))))
    current["ctx"] = ctx
    token = set_current(ctx)
    flusher_thread = threading.Thread(target=flusher, daemon=True)
    flusher_thread.start()
    send(("start", task_id, time.time()))
    try:
        fn, args, kwargs = cloudpickle.loads(payload)
        with capture_output(sink, tee=False):
            value = fn(*args, **kwargs)
        out: tuple[Any, ...] = ("done", task_id, True, cloudpickle.dumps(value), time.time())
    except BaseException as exc:
        out = (
            "done",
            task_id,
            False,
            (type(exc).__name__, str(exc), traceback.format_exc()),
            time.time(),
        )
    finally:
        reset_current(token)
        current["ctx"] = None
        done.set()
        flusher_thread.join()
        flush()
    try:
        send(out)
    except Exception as exc:  # the result could not be pickled
        send(
            (
                "done",
                task_id,
                False,
                (type(exc).__name__, f"cannot send the result back: {exc}", ""),
                time.time(),
            )
        )
