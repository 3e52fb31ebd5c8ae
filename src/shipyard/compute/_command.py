"""Running a program as a task: output streamed into the task's logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from ._base import current_task

_children: set[subprocess.Popen[bytes]] = set()
_children_lock = threading.Lock()


def kill_children() -> None:
    """Kill the process groups of running commands (the worker is being stopped)."""
    with _children_lock:
        procs = list(_children)
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_command(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> int:
    """Run *argv*; copy its stdout and stderr to ``sys.stdout``; return the exit code."""
    full_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        print(f"command not found: {argv[0]}", file=sys.stderr, flush=True)
        return 127
    with _children_lock:
        _children.add(proc)
    ctx = current_task()
    stopper: threading.Thread | None = None
    if ctx is not None:

        def _watch_stop() -> None:
            while proc.poll() is None:
                if ctx.stop_event.wait(0.2):
                    try:
                        os.killpg(proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                    return

        stopper = threading.Thread(target=_watch_stop, daemon=True)
        stopper.start()
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            sys.stdout.write(chunk.decode("utf-8", errors="replace"))
            sys.stdout.flush()
        return proc.wait()
    finally:
        with _children_lock:
            _children.discard(proc)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
