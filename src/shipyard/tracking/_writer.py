"""The background metric writer: buffered points, one transaction per large batch.

One writer per metadata database per process. ``Run.log_metric`` appends a compact
tuple ``(series_id, step, ts_ms, value)`` to the writer's buffer under a lock (no I/O
on the caller's thread); a daemon thread drains the buffer every ``interval`` seconds,
or as soon as ``batch_size`` points are waiting, or when someone calls :meth:`flush`.
Each batch is written in one transaction together with the per-series summaries
(count, min, max, last) so that summaries and points never disagree.

The buffer is bounded (``max_pending`` points): a producer that outruns the database
waits instead of growing memory without limit. The same thread sends run heartbeats.
The thread exits when it has been idle for a while and restarts on demand; after a
``fork`` the child starts with fresh writers; at interpreter exit every writer flushes.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
import weakref
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..core import StorageError, utcnow
from ..store import Database
from .tables import metric_chunks, metric_series, runs

Point = tuple[int, int, int, float]

COMPACT_AFTER = 64
"""A series whose small chunks (< COMPACT_MIN_POINTS points) reach this count is merged."""
COMPACT_MIN_POINTS = 10_000


def pack(step: np.ndarray, ts: np.ndarray, value: np.ndarray) -> bytes:
    return (
        step.astype("<i8", copy=False).tobytes()
        + ts.astype("<i8", copy=False).tobytes()
        + value.astype("<f8", copy=False).tobytes()
    )


def unpack(data: bytes, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    buf = memoryview(data)
    step = np.frombuffer(buf, dtype="<i8", count=n, offset=0)
    ts = np.frombuffer(buf, dtype="<i8", count=n, offset=8 * n)
    value = np.frombuffer(buf, dtype="<f8", count=n, offset=16 * n)
    return step, ts, value


def _summary_update() -> Any:
    t = metric_series
    f = sa.Float
    mn = sa.cast(sa.bindparam("mn", type_=f), f)
    mx = sa.cast(sa.bindparam("mx", type_=f), f)
    ls = sa.cast(sa.bindparam("ls", type_=sa.BigInteger), sa.BigInteger)
    newer = sa.or_(t.c.last_step.is_(None), ls >= t.c.last_step)
    return (
        t.update()
        .where(t.c.id == sa.bindparam("sid"))
        .values(
            count=t.c.count + sa.bindparam("n", type_=sa.BigInteger),
            min=sa.case((sa.or_(t.c.min.is_(None), mn < t.c.min), mn), else_=t.c.min),
            max=sa.case((sa.or_(t.c.max.is_(None), mx > t.c.max), mx), else_=t.c.max),
            last=sa.case((newer, sa.cast(sa.bindparam("lv", type_=f), f)), else_=t.c.last),
            last_ts=sa.case(
                (newer, sa.cast(sa.bindparam("lt", type_=sa.BigInteger), sa.BigInteger)),
                else_=t.c.last_ts,
            ),
            last_step=sa.case((newer, ls), else_=t.c.last_step),
        )
    )


_SUMMARY_UPDATE = _summary_update()


def _stored(v: float) -> float | None:
    """NaN cannot be stored in a SQLite REAL column (it becomes NULL): keep NULL."""
    return None if math.isnan(v) else v


class SeriesBuffer:
    """Points of one series waiting to be written: three typed arrays (no per-point objects)."""

    __slots__ = ("step", "ts", "value")

    def __init__(self) -> None:
        self.step = array("q")
        self.ts = array("q")
        self.value = array("d")

    def __len__(self) -> int:
        return len(self.step)


Batch = dict[int, SeriesBuffer]


def batch_of(points: Sequence[Point]) -> Batch:
    """Group ``(series_id, step, ts, value)`` tuples into per-series buffers."""
    batch: Batch = {}
    for sid, step, ts, value in points:
        b = batch.get(sid)
        if b is None:
            b = batch[sid] = SeriesBuffer()
        b.step.append(step)
        b.ts.append(ts)
        b.value.append(value)
    return batch


def chunk_rows(batch: Batch) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One chunk row and one summary update per series of the batch."""
    chunks, summaries = [], []
    for sid, b in batch.items():
        step = np.frombuffer(b.step, dtype=np.int64)
        ts = np.frombuffer(b.ts, dtype=np.int64)
        value = np.frombuffer(b.value, dtype=np.float64)
        if step.size == 0:
            continue
        if step.size > 1 and np.any(step[1:] < step[:-1]):
            o = np.argsort(step, kind="stable")
            step, ts, value = step[o], ts[o], value[o]
        finite = value[~np.isnan(value)]
        last = step.size - 1  # steps are sorted (stably): the last point is the newest
        chunks.append(
            {
                "series_id": sid,
                "first_step": int(step[0]),
                "last_step": int(step[-1]),
                "n": int(step.size),
                "data": pack(step, ts, value),
            }
        )
        summaries.append(
            {
                "sid": sid,
                "n": int(step.size),
                "mn": float(finite.min()) if finite.size else None,
                "mx": float(finite.max()) if finite.size else None,
                "ls": int(step[last]),
                "lt": int(ts[last]),
                "lv": _stored(float(value[last])),
            }
        )
    return chunks, summaries


def write_batch(conn: sa.Connection, batch: Batch) -> list[int]:
    """Store a batch as one chunk per series and fold it into the series summaries,
    inside *conn*'s transaction. Returns the series ids written."""
    chunks, summaries = chunk_rows(batch)
    if not chunks:
        return []
    if conn.dialect.name == "postgresql":
        # Send the packed arrays as binary parameters (%b), not hex text.
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cur:
            cur.executemany(
                "INSERT INTO metric_chunks (series_id, first_step, last_step, n, data) "
                "VALUES (%s, %s, %s, %s, %b)",
                [
                    (c["series_id"], c["first_step"], c["last_step"], c["n"], c["data"])
                    for c in chunks
                ],
            )
    else:
        conn.execute(metric_chunks.insert(), chunks)
    conn.execute(_SUMMARY_UPDATE, summaries)
    return [c["series_id"] for c in chunks]


def write_points(db: Database, conn: sa.Connection, points: Sequence[Point]) -> list[int]:
    """Store ``(series_id, step, ts, value)`` tuples (the synchronous REST path)."""
    return write_batch(conn, batch_of(points))


def compact(conn: sa.Connection, series_id: int) -> int:
    """Merge the small chunks of one series into one. Returns how many were merged."""
    rows = conn.execute(
        sa.select(metric_chunks.c.id, metric_chunks.c.n, metric_chunks.c.data).where(
            metric_chunks.c.series_id == series_id, metric_chunks.c.n < COMPACT_MIN_POINTS
        )
    ).all()
    if len(rows) < 2:
        return 0
    parts = [unpack(r.data, r.n) for r in rows]
    step = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    value = np.concatenate([p[2] for p in parts])
    o = np.argsort(step, kind="stable")
    step, ts, value = step[o], ts[o], value[o]
    conn.execute(metric_chunks.delete().where(metric_chunks.c.id.in_([r.id for r in rows])))
    conn.execute(
        metric_chunks.insert().values(
            series_id=series_id,
            first_step=int(step[0]),
            last_step=int(step[-1]),
            n=int(step.size),
            data=pack(step, ts, value),
        )
    )
    return len(rows)


class MetricWriter:
    """Buffers metric points of every run of this process for one database."""

    def __init__(
        self,
        db: Database,
        *,
        interval: float = 1.0,
        batch_size: int = 100_000,
        max_pending: int = 1_000_000,
        idle_exit_s: float = 10.0,
    ) -> None:
        self.db = db
        self.interval = interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.idle_exit_s = idle_exit_s
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._buf: Batch = {}
        self._pending = 0  # points in _buf
        self._added = 0  # points ever added
        self._done = 0  # points ever written (or dropped after an error)
        self._error: BaseException | None = None
        self._flush_wanted = False
        self._thread: threading.Thread | None = None
        self._heartbeats: dict[str, tuple[float, float]] = {}  # run id -> (interval, next due)
        self._small_chunks: dict[int, int] = {}  # series id -> small chunks written since merge
        self.batches = 0

    # ------------------------------------------------------------------ producers
    def add(self, point: Point) -> None:
        self.put([point[0]], point[1], point[2], [point[3]])

    def extend(self, points: Sequence[Point]) -> None:
        for p in points:
            self.add(p)

    def put(
        self, sids: Sequence[int], step: int | Sequence[int], ts: int, values: Sequence[float]
    ) -> None:
        """Buffer one value per series id at *step* (one int, or one step per value)."""
        n = len(sids)
        with self._lock:  # the plain lock: cheaper than entering the Condition
            buf = self._buf
            if isinstance(step, int):
                for sid, v in zip(sids, values, strict=True):
                    b = buf.get(sid)
                    if b is None:
                        b = buf[sid] = SeriesBuffer()
                    b.step.append(step)
                    b.ts.append(ts)
                    b.value.append(v)
            else:
                for sid, st, v in zip(sids, step, values, strict=True):
                    b = buf.get(sid)
                    if b is None:
                        b = buf[sid] = SeriesBuffer()
                    b.step.append(st)
                    b.ts.append(ts)
                    b.value.append(v)
            self._pending += n
            self._added += n
            if self._pending < self.batch_size:
                return
            self._wake_locked()
            if self._pending >= self.max_pending:
                self._wait_room_locked()

    def _wait_room_locked(self) -> None:
        while self._pending >= self.max_pending and self._error is None:
            self._cond.wait(1.0)

    def _wake_locked(self) -> None:
        self._ensure_thread_locked()
        self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Block until every point added before this call is durable in the database."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._added
            if self._done >= target and self._error is None:
                return
            self._flush_wanted = True
            self._wake_locked()
            while self._done < target and self._error is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise StorageError(
                        f"metric points were not written to {self.db.display_url} within "
                        f"{timeout}s; the database may be overloaded or unreachable"
                    )
                self._cond.wait(left if left is not None else 1.0)
            self._raise_error_locked()

    def _raise_error_locked(self) -> None:
        if self._error is not None:
            exc, self._error = self._error, None
            raise StorageError(
                f"writing metric points to {self.db.display_url} failed: "
                f"{type(exc).__name__}: {exc}",
                details={"db_url": self.db.display_url},
            ) from exc

    # ------------------------------------------------------------------ heartbeats
    def watch(self, run_id: str, interval: float) -> None:
        with self._cond:
            self._heartbeats[run_id] = (interval, time.monotonic() + interval)
            self._ensure_thread_locked()

    def unwatch(self, run_id: str) -> None:
        with self._cond:
            self._heartbeats.pop(run_id, None)

    # ------------------------------------------------------------------ the thread
    def _ensure_thread_locked(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._loop, name="shipyard-metric-writer", daemon=True
            )
            self._thread.start()

    def _next_wait_locked(self) -> float:
        wait = self.interval
        now = time.monotonic()
        for _, due in self._heartbeats.values():
            wait = min(wait, max(0.0, due - now))
        return wait

    def _loop(self) -> None:
        idle_since = time.monotonic()
        while True:
            with self._cond:
                if not self._buf and not self._flush_wanted:
                    self._cond.wait(self._next_wait_locked())
                batch, self._buf = self._buf, {}
                size, self._pending = self._pending, 0
                self._flush_wanted = False
                now = time.monotonic()
                due = [rid for rid, (_, t) in self._heartbeats.items() if t <= now]
                for rid in due:
                    iv = self._heartbeats[rid][0]
                    self._heartbeats[rid] = (iv, now + iv)
                if not batch and not due:
                    if not self._heartbeats and now - idle_since > self.idle_exit_s:
                        self._thread = None
                        return
                    continue
                idle_since = now
                self._cond.notify_all()  # producers waiting for room
            try:
                self._write(batch, due)
            except BaseException as exc:  # reported to the next flush
                with self._cond:
                    self._error = exc
                    self._done += size
                    self._cond.notify_all()
                continue
            with self._cond:
                self._done += size
                self.batches += 1 if batch else 0
                self._cond.notify_all()

    def _write(self, batch: Batch, heartbeats: list[str]) -> None:
        for attempt in range(5):
            try:
                with self.db.write() as conn:
                    if batch:
                        written = write_batch(conn, batch)
                        for sid in written:
                            n = self._small_chunks.get(sid, 0) + 1
                            if n >= COMPACT_AFTER:
                                compact(conn, sid)
                                n = 0
                            self._small_chunks[sid] = n
                    if heartbeats:
                        conn.execute(
                            runs.update()
                            .where(runs.c.id.in_(heartbeats), runs.c.status == "running")
                            .values(heartbeat_at=utcnow())
                        )
                return
            except sa.exc.OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * 2**attempt)


# ---------------------------------------------------------------------- registry
_writers: weakref.WeakKeyDictionary[Database, MetricWriter] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()
_exit_hooks: list[Callable[[], None]] = []


def writer_for(db: Database) -> MetricWriter:
    with _registry_lock:
        w = _writers.get(db)
        if w is None:
            w = _writers[db] = MetricWriter(db)
        return w


def on_exit(hook: Callable[[], None]) -> None:
    """Run *hook* at interpreter exit, before the writers' final flush."""
    _exit_hooks.append(hook)


def _flush_all_at_exit() -> None:
    for hook in list(_exit_hooks):
        try:
            hook()
        except Exception:  # pragma: no cover - best effort at exit
            pass
    for w in list(_writers.values()):
        try:
            w.flush(timeout=30)
        except Exception:  # pragma: no cover
            pass


def _after_fork() -> None:  # pragma: no cover - exercised in forked children
    global _registry_lock
    _writers.clear()
    _exit_hooks.clear()
    _registry_lock = threading.Lock()


atexit.register(_flush_all_at_exit)
os.register_at_fork(after_in_child=_after_fork)
