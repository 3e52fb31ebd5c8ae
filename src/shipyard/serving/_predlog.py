"""Prediction logging: rows go to the monitoring sink from a background thread.

The serving side appends one tuple per model call (a batch of requests, with the
arrays the model saw and gave) to a bounded deque: no lock, no wake-up, no per-row
work; when it is full, or no sink is available, the rows are dropped and counted, never
the request. A daemon thread drains the deque a few times a second and hands the sink
one Arrow table per model version, built column by column from those arrays, or row
dicts for sinks without ``write_table``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np

from ._batcher import take

log = logging.getLogger("shipyard.serving")


class _Entry(NamedTuple):
    """The served requests of one model call: their rows, concatenated, and per request
    its id, protocol, status, latency, row count and the offset of its first row here
    (not 0 only for the later parts of a request split over several calls)."""

    ts: float  # seconds since the epoch
    model: str
    version: int
    deployment: str | None
    requests: list[tuple[str, str, int, float, int, int]]  # id, protocol, status, ms, rows, offset
    inputs: Any
    outputs: dict[str, Any]


def open_sink(ws: Any, deployment: str | None) -> Any:
    """The monitoring service's prediction log sink, or None when it is not installed."""
    try:
        from ..monitoring import open_prediction_log
    except ImportError:
        return None
    try:
        return open_prediction_log(ws, deployment=deployment)
    except Exception:  # a broken sink must never break serving
        log.exception("could not open the prediction log")
        return None


def _input_columns(inputs: Any) -> dict[str, np.ndarray]:
    if isinstance(inputs, dict):
        return {k: np.asarray(v) for k, v in inputs.items()}
    if hasattr(inputs, "columns") and hasattr(inputs, "to_numpy"):  # a DataFrame
        return {str(c): inputs[c].to_numpy() for c in inputs.columns}
    arr = np.asarray(inputs)
    if arr.ndim == 2 and arr.shape[1] <= 64:
        return {f"x{j}": arr[:, j] for j in range(arr.shape[1])}
    if arr.ndim == 1:
        return {"x0": arr}
    return {}


def _pylist(arr: np.ndarray) -> list[Any]:
    """Python values of *arr*; datetimes as aware UTC ``datetime`` (not integers)."""
    if arr.dtype.kind == "M":
        return [
            None if d is None else d.replace(tzinfo=UTC)
            for d in arr.astype("datetime64[us]").tolist()
        ]
    return list(np.asarray(arr).tolist())


def entry_rows(e: _Entry) -> list[dict[str, Any]]:
    """One log row per predicted row of *e*, as dicts (for sinks without tables)."""
    out = []
    start = 0
    ts = datetime.fromtimestamp(e.ts, UTC)
    for request_id, protocol, status, latency_ms, n, offset in e.requests:
        cols = {k: _pylist(v) for k, v in _input_columns(take(e.inputs, start, start + n)).items()}
        outs = {k: np.asarray(v[start : start + n]).tolist() for k, v in e.outputs.items()}
        for i in range(n):
            out.append(
                {
                    "request_id": request_id,
                    "ts": ts,
                    "model": e.model,
                    "version": e.version,
                    "deployment": e.deployment,
                    "protocol": protocol,
                    "status": status,
                    "latency_ms": latency_ms,
                    "row": offset + i,
                    "inputs": {k: v[i] for k, v in cols.items() if len(v) > i},
                    "outputs": {k: v[i] for k, v in outs.items() if len(v) > i},
                }
            )
        start += n
    return out


def _column(parts: list[np.ndarray]) -> Any:
    """One log column from per-request 1-D arrays, typed as the row path types it."""
    import pyarrow as pa

    arr = parts[0] if len(parts) == 1 else np.concatenate(parts)
    kind = arr.dtype.kind
    if kind == "f":
        return pa.array(arr.astype(np.float64, copy=False))
    if kind in "iu":
        return pa.array(arr.astype(np.int64, copy=False))
    if kind == "b":
        return pa.array(arr)
    if kind == "M":  # datetimes (naive, UTC) as timestamps
        return pa.array(arr.astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC"))
    values = arr.tolist()
    try:
        out = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    return out.cast(pa.float64()) if pa.types.is_null(out.type) else out


def _stacked(values: list[Any], ns: np.ndarray) -> dict[str, list[np.ndarray]] | None:
    """Per column, the 1-D arrays of every request (None when they do not line up)."""
    first = values[0]
    if isinstance(first, np.ndarray) and first.ndim == 2 and first.shape[1] <= 64:
        width = first.shape[1]
        if not all(isinstance(v, np.ndarray) and v.shape[1:] == (width,) for v in values):
            return None
        arr = np.concatenate(values) if len(values) > 1 else first
        if len(arr) != int(ns.sum()):
            return None
        return {f"x{j}": [arr[:, j]] for j in range(width)}
    cols = [_input_columns(v) for v in values]
    keys = list(cols[0])
    out: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for c, n in zip(cols, ns.tolist(), strict=True):
        if list(c) != keys:
            return None
        for k, v in c.items():
            if v.ndim > 1 and len(v) == n:
                v = _json_rows(v)  # a value per row with several numbers (logits…)
            if v.ndim != 1 or len(v) != n:
                return None
            out[k].append(v)
    return out


def _json_rows(arr: np.ndarray) -> np.ndarray:
    """Each row of *arr* as the JSON text the row path stores for a non-scalar value."""
    return np.array([json.dumps(r) for r in arr.tolist()], dtype=object)


def build_table(entries: list[_Entry]) -> Any:
    """The requests of one model version as one table in the sink's flattened format,
    or None when their inputs or outputs do not line up column for column."""
    import pyarrow as pa

    ns = np.fromiter((sum(r[4] for r in e.requests) for e in entries), np.int64, len(entries))
    total = int(ns.sum())
    inputs = _stacked([e.inputs for e in entries], ns)
    outputs = _stacked([e.outputs for e in entries], ns)
    if inputs is None or outputs is None:
        return None
    ids, protocols, statuses, latencies, rows, offsets = zip(
        *(r for e in entries for r in e.requests), strict=True
    )
    per_req = np.asarray(rows, np.int64)
    single = len(per_req) == total  # one row per request: nothing to repeat
    which = None if single else np.repeat(np.arange(len(per_req)), per_req)

    def per_request(values: Any, type_: Any) -> Any:
        arr = pa.array(values, type_)  # strings straight from the list: no object array
        return arr if which is None else arr.take(which)

    if single:
        row = np.asarray(offsets, np.int64)
    else:
        starts = np.cumsum(per_req) - per_req
        row = np.arange(total) - starts[which] + np.asarray(offsets, np.int64)[which]
    e0 = entries[0]
    ts_us = np.repeat(np.fromiter((e.ts for e in entries), np.float64, len(entries)) * 1e6, ns)
    arrays: dict[str, Any] = {
        "request_id": per_request(ids, pa.string()),
        "row": pa.array(row.astype(np.int32)),
        "ts": pa.array(np.rint(ts_us).astype(np.int64), pa.timestamp("us", tz="UTC")),
        "model": pa.repeat(pa.scalar(e0.model, pa.string()), total),
        "version": pa.array(np.full(total, e0.version, np.int32)),
        "deployment": pa.repeat(pa.scalar(e0.deployment, pa.string()), total),
        "protocol": per_request(protocols, pa.string()),
        "status": per_request(statuses, pa.int16()),
        "latency_ms": per_request(latencies, pa.float64()),
    }
    extra = {f"in_{k}": _column(v) for k, v in inputs.items()}
    extra.update({f"out_{k}": _column(v) for k, v in outputs.items()})
    for name in sorted(extra):
        arrays[name] = extra[name]
    return pa.table(arrays)


def warm_up() -> None:
    """Import and exercise the table path once, so the first write does not stall the
    serving process on imports (pyarrow pulls in pandas on first use)."""
    e = _Entry(time.time(), "m", 1, None, [("warm", "v2", 200, 0.0, 1, 0)], np.zeros((1, 1)), {})
    build_table([e._replace(outputs={"predict": np.zeros(1)})])


class PredictionLogger:
    """A bounded deque (``max_pending`` model calls) drained by one thread into *sink*.

    The sink needs ``write(rows)`` (row dicts), ``flush()`` and ``close()``; with
    ``write_table(table, model=, version=, deployment=)`` it receives Arrow tables.
    """

    def __init__(
        self,
        sink: Any,
        on_drop: Callable[[int], None],
        max_pending: int = 10_000,
        flush_every_s: float = 2.0,
        poll_s: float = 0.2,
    ) -> None:
        self.sink = sink
        self.on_drop = on_drop
        self.flush_every_s = flush_every_s
        self.poll_s = poll_s
        self.max_pending = max_pending
        self._pending: collections.deque[_Entry] = collections.deque()
        self._stop = threading.Event()
        self.written = 0
        self._row_path: set[tuple[str, int]] = set()  # warned about, once each
        self._thread: threading.Thread | None = None
        if sink is not None:
            self._thread = threading.Thread(
                target=self._run, name="shipyard-prediction-log", daemon=True
            )
            self._thread.start()

    def submit(
        self,
        *,
        request_id: str,
        ts: datetime | float | None,
        model: str,
        version: int,
        deployment: str | None,
        protocol: str,
        status: int,
        latency_ms: float,
        rows: int,
        inputs: Any,
        outputs: dict[str, Any],
    ) -> None:
        """Queue one served request; never blocks (drops and counts when full)."""
        request = (request_id, protocol, int(status), float(latency_ms), int(rows), 0)
        self.submit_batch(model, int(version), deployment, [request], inputs, outputs, ts)

    def submit_batch(
        self,
        model: str,
        version: int,
        deployment: str | None,
        requests: list[tuple[str, str, int, float, int, int]],
        inputs: Any,
        outputs: dict[str, Any],
        ts: datetime | float | None = None,
    ) -> None:
        """Queue the requests one model call served: *requests* holds, per request, its
        id, protocol, status, latency in ms, rows and the offset of its first row (see
        :class:`_Entry`); *inputs* and *outputs* hold their rows in that order. Never
        blocks (drops and counts when full)."""
        if self.sink is None or len(self._pending) >= self.max_pending:
            self.on_drop(sum(r[4] for r in requests))
            return
        if not isinstance(ts, float):
            ts = ts.timestamp() if isinstance(ts, datetime) else time.time()
        self._pending.append(_Entry(ts, model, version, deployment, requests, inputs, outputs))

    def _drain(self) -> list[_Entry]:
        out = []
        pending = self._pending
        with contextlib.suppress(IndexError):
            for _ in range(len(pending)):
                out.append(pending.popleft())
        return out

    def _write(self, entries: list[_Entry]) -> None:
        groups: dict[tuple[str, int, str | None], list[_Entry]] = {}
        for e in entries:
            groups.setdefault((e.model, e.version, e.deployment), []).append(e)
        write_table = getattr(self.sink, "write_table", None)
        for (model, version, deployment), part in groups.items():
            n = sum(r[4] for e in part for r in e.requests)
            try:
                table = build_table(part) if write_table is not None else None
                if write_table is not None and table is not None:
                    write_table(table, model=model, version=version, deployment=deployment)
                else:
                    if write_table is not None and (model, version) not in self._row_path:
                        self._row_path.add((model, version))
                        log.warning(
                            "the prediction log of %s@%s is written row by row (its requests' "
                            "inputs or outputs do not line up column for column), which costs "
                            "far more than the table path",
                            model,
                            version,
                        )
                    rows = [r for e in part for r in entry_rows(e)]
                    self.sink.write(rows)
                self.written += n
            except Exception:
                log.exception("prediction log write failed; %d rows dropped", n)
                self.on_drop(n)

    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            stop = self._stop.wait(self.poll_s)
            entries = self._drain()
            if entries:
                self._write(entries)
            if stop or time.monotonic() - last_flush >= self.flush_every_s:
                with contextlib.suppress(Exception):
                    self.sink.flush()
                last_flush = time.monotonic()
            if stop:
                return

    def close(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None
        with contextlib.suppress(Exception):
            self.sink.close()
