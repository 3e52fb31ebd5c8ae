"""Adaptive batching: per-model queue, batches counted in rows, AIMD batch size.

Requests are put on a bounded queue; one asyncio task takes rows until the current
target size (never more than ``max_batch_size`` rows) or until ``max_latency_ms``
passed since the first row waited, concatenates them and runs the model in a thread.
A request with more rows than ``max_batch_size`` is split into chunks that each fit.
The target grows by ``step`` rows while batches finish within ``target_latency_ms``
and shrinks by 10% when one misses it (Clipper's AIMD).

A model whose batches take less than ``inline_below_ms`` runs on the event loop itself:
handing a 100 µs call to a thread and back costs more than the call.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger("shipyard.serving")


class Overloaded(Exception):
    """The request was refused: ``reason`` is ``queue_full`` or ``deadline``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def n_rows(inputs: Any) -> int:
    if isinstance(inputs, dict):
        for v in inputs.values():
            return len(v)
        return 0
    return len(inputs)


def take(inputs: Any, start: int, stop: int) -> Any:
    if isinstance(inputs, dict):
        return {k: v[start:stop] for k, v in inputs.items()}
    return inputs[start:stop]


def concat(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def concat_outputs(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _timed(fn: Callable[[Any], dict[str, np.ndarray]], inputs: Any) -> tuple[Any, float]:
    """``fn(inputs)`` and the seconds it took (compute only, without a thread hand-off)."""
    t0 = time.perf_counter()
    out = fn(inputs)
    return out, time.perf_counter() - t0


_MAX_POLLS = 16  # event-loop polls at most while a batch keeps growing


@dataclass(slots=True)
class _Item:
    inputs: Any
    rows: int
    future: asyncio.Future[dict[str, np.ndarray]]
    deadline: float
    meta: Any = None  # what the caller passed to enqueue, for on_result
    offset: int = 0  # the first row of this part within its request (split requests)


# on_result(items, inputs, outputs): after each model call, the items it served (in
# order, with their meta) and the call's concatenated inputs and outputs
OnResult = Callable[[list[_Item], Any, dict[str, np.ndarray]], None]


@dataclass
class BatchConfig:
    max_batch_size: int = 64
    max_latency_ms: float = 5.0
    target_latency_ms: float = 50.0
    max_queue: int = 1024
    timeout_ms: float = 5000.0
    step: int = 4
    enabled: bool = True
    inline_below_ms: float = 1.0


class Batcher:
    """The batching queue of one loaded model version."""

    def __init__(
        self,
        predict: Callable[[Any], dict[str, np.ndarray]],
        executor: Executor,
        config: BatchConfig,
        on_batch: Callable[[int, float], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        self.predict = predict
        self.on_result = on_result
        self.executor = executor
        self.config = config
        self.on_batch = on_batch
        self.on_depth = on_depth
        self.target = max(1, min(config.max_batch_size, config.step * 2))
        self._pending: collections.deque[_Item] = collections.deque()
        self._queued_rows = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.max_rows_seen = 0
        self.batches = 0
        self.rows = 0
        self._ewma_row_s = 0.0
        self._ewma_batch_s = 0.0

    # ------------------------------------------------------------------ public
    @property
    def depth(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        if self._task is None and self.config.enabled:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def enqueue(
        self, inputs: Any, timeout_ms: float | None = None, meta: Any = None
    ) -> Awaitable[dict[str, np.ndarray]]:
        """Queue *inputs*; the awaitable gives their outputs. Raises :class:`Overloaded`
        at once when the queue is full or the deadline cannot be met. (Not a coroutine:
        one level less to suspend and resume on every request.) *meta* goes with the
        rows to ``on_result``."""
        rows = n_rows(inputs)
        cfg = self.config
        if not cfg.enabled:
            return self._call(inputs, rows, meta)
        timeout = (timeout_ms if timeout_ms is not None else cfg.timeout_ms) / 1000.0
        if len(self._pending) >= cfg.max_queue:
            raise Overloaded("queue_full", f"queue full ({cfg.max_queue} requests waiting)")
        expected = (self._queued_rows + rows) * self._ewma_row_s
        if self._ewma_row_s and expected > timeout:
            raise Overloaded(
                "deadline",
                f"deadline: the queue needs about {expected * 1000:.0f} ms, "
                f"more than the {timeout * 1000:.0f} ms allowed",
            )
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        limit = cfg.max_batch_size
        self._wake.set()
        if rows <= limit:
            fut: asyncio.Future[dict[str, np.ndarray]] = loop.create_future()
            self._pending.append(_Item(inputs, rows, fut, deadline, meta))
            self._queued_rows += rows
            return fut
        futures = []
        for start in range(0, rows, limit):
            part = take(inputs, start, start + limit)
            fut = loop.create_future()
            item = _Item(part, n_rows(part), fut, deadline, meta, start)
            self._pending.append(item)
            self._queued_rows += item.rows
            futures.append(fut)
        return self._joined(futures)

    async def _joined(self, futures: list[asyncio.Future[dict[str, np.ndarray]]]) -> Any:
        return concat_outputs(list(await asyncio.gather(*futures)))

    # ------------------------------------------------------------------ internals
    async def _predict(self, inputs: Any) -> tuple[dict[str, np.ndarray], float]:
        """Run the model, on the loop when it is fast, else in the inference threads."""
        ewma = self._ewma_batch_s
        if ewma and ewma * 1000 < self.config.inline_below_ms:
            out, elapsed = _timed(self.predict, inputs)
        else:
            loop = asyncio.get_running_loop()
            out, elapsed = await loop.run_in_executor(self.executor, _timed, self.predict, inputs)
        self._ewma_batch_s = elapsed if not ewma else 0.8 * ewma + 0.2 * elapsed
        return out, elapsed

    async def _call(self, inputs: Any, rows: int, meta: Any) -> dict[str, np.ndarray]:
        out, elapsed = await self._predict(inputs)
        if self.on_batch:
            self.on_batch(rows, elapsed)
        if self.on_result:
            done: asyncio.Future[dict[str, np.ndarray]] = asyncio.get_running_loop().create_future()
            done.set_result(out)
            self._report([_Item(inputs, rows, done, 0.0, meta)], inputs, out)
        return out

    def _report(self, items: list[_Item], inputs: Any, out: dict[str, np.ndarray]) -> None:
        try:
            self.on_result(items, inputs, out)  # type: ignore[misc]
        except Exception:  # what watches the results must never break serving
            log.exception("on_result failed")

    async def _loop(self) -> None:
        cfg = self.config
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            first_wait = time.monotonic()
            # poll the event loop while that brings more rows: requests already on the wire
            # (read, or about to be) join this batch instead of waiting for the next one
            polls = 0
            while self._queued_rows < self.target and polls < _MAX_POLLS:
                before = self._queued_rows
                await asyncio.sleep(0)
                polls += 1
                if polls >= 2 and self._queued_rows == before:
                    break
            # collect until the target is reached or the oldest row waited long enough
            while (
                self._queued_rows < self.target
                and not self._closing
                and (time.monotonic() - first_wait) * 1000 < cfg.max_latency_ms
            ):
                self._wake.clear()
                remaining = cfg.max_latency_ms / 1000 - (time.monotonic() - first_wait)
                try:
                    await asyncio.wait_for(self._wake.wait(), max(remaining, 0))
                except TimeoutError:
                    break
            batch: list[_Item] = []
            rows = 0
            now = time.monotonic()
            while self._pending:
                item = self._pending[0]
                if batch and rows + item.rows > self.target:
                    break
                self._pending.popleft()
                self._queued_rows -= item.rows
                if item.future.cancelled():
                    continue
                if now > item.deadline:
                    item.future.set_exception(
                        Overloaded("deadline", "deadline: the request waited past its timeout")
                    )
                    continue
                batch.append(item)
                rows += item.rows
            if self.on_depth:
                self.on_depth(len(self._pending))
            if not batch:
                continue
            await self._run_batch(batch, rows)

    async def _run_batch(self, batch: list[_Item], rows: int) -> None:
        try:
            inputs = concat([i.inputs for i in batch])
            out, elapsed = await self._predict(inputs)
        except Exception as exc:
            for i in batch:
                if not i.future.done():
                    i.future.set_exception(exc)
            return
        self.max_rows_seen = max(self.max_rows_seen, rows)
        self.batches += 1
        self.rows += rows
        per_row = elapsed / max(rows, 1)
        self._ewma_row_s = (
            per_row if not self._ewma_row_s else 0.8 * self._ewma_row_s + 0.2 * per_row
        )
        # AIMD
        cfg = self.config
        if elapsed * 1000 <= cfg.target_latency_ms:
            self.target = min(cfg.max_batch_size, self.target + cfg.step)
        else:
            self.target = max(1, int(self.target * 0.9))
        if self.on_batch:
            self.on_batch(rows, elapsed)
        start = 0
        for i in batch:
            if not i.future.done():
                i.future.set_result({k: v[start : start + i.rows] for k, v in out.items()})
            start += i.rows
        if self.on_result:
            self._report(batch, inputs, out)
