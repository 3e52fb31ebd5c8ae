"""Capturing what a task prints, without touching file descriptors."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO


class _LogWriter(io.TextIOBase):
    def __init__(self, sink: Callable[[str], None], tee: TextIO | None) -> None:
        self._sink = sink
        self._tee = tee

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if s:
            self._sink(s)
            if self._tee is not None:
                with contextlib.suppress(Exception):
                    self._tee.write(s)
        return len(s)

    def flush(self) -> None:
        if self._tee is not None:
            with contextlib.suppress(Exception):
                self._tee.flush()


class _ThreadRouter(io.TextIOBase):
    """A ``sys.stdout`` replacement that routes writes per thread (inline tasks)."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self.local = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        target: Any = getattr(self.local, "target", None) or self.fallback
        written = target.write(s)
        # Some streams (Ray's worker stdout among them) return None from write().
        return len(s) if written is None else int(written)

    def flush(self) -> None:
        target: Any = getattr(self.local, "target", None) or self.fallback
        target.flush()


_install_lock = threading.Lock()


@contextlib.contextmanager
def capture_output(sink: Callable[[str], None], *, tee: bool) -> Iterator[None]:
    """Send this thread's ``print`` output (stdout and stderr) to *sink*.

    With *tee*, output still reaches the real streams too (inline debugging).
    """
    with _install_lock:
        routers = []
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _ThreadRouter):
                stream = _ThreadRouter(stream)
                setattr(sys, name, stream)
            routers.append(stream)
    previous = [getattr(r.local, "target", None) for r in routers]
    for r in routers:
        r.local.target = _LogWriter(sink, r.fallback if tee else None)
    try:
        yield
    finally:
        for r, p in zip(routers, previous, strict=True):
            r.local.target = p
