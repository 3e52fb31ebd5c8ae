"""Prediction logging: rows go to the monitoring sink from a background thread.

The request path only puts one item on a bounded queue (``put_nowait``); when the queue
is full, or no sink is available, the rows are dropped and counted, never the request.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

log = logging.getLogger("shipyard.serving")

_STOP = object()


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


def build_rows(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Expand one served request into one log row per predicted row."""
    cols = {k: np.asarray(v).tolist() for k, v in _input_columns(entry.pop("inputs")).items()}
    outs = {k: np.asarray(v).tolist() for k, v in entry.pop("outputs").items()}
    n = int(entry.pop("rows"))
    in_keys, out_keys = list(cols), list(outs)
    in_vals = [cols[k] for k in in_keys]
    out_vals = [outs[k] for k in out_keys]
    rows = []
    for i in range(n):
        row = dict(entry)
        row["row"] = i
        row["inputs"] = {k: v[i] for k, v in zip(in_keys, in_vals, strict=True) if len(v) > i}
        row["outputs"] = {k: v[i] for k, v in zip(out_keys, out_vals, strict=True) if len(v) > i}
        rows.append(row)
    return rows


class PredictionLogger:
    """A bounded queue drained by one daemon thread into *sink* (``write(rows)``)."""

    def __init__(
        self,
        sink: Any,
        on_drop: Callable[[int], None],
        max_pending: int = 10_000,
        flush_every_s: float = 2.0,
    ) -> None:
        self.sink = sink
        self.on_drop = on_drop
        self.flush_every_s = flush_every_s
        self.queue: queue.Queue[Any] = queue.Queue(max_pending)
        self.written = 0
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
        ts: datetime,
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
        if self.sink is None:
            self.on_drop(rows)
            return
        entry = {
            "request_id": request_id,
            "ts": ts,
            "model": model,
            "version": version,
            "deployment": deployment,
            "protocol": protocol,
            "status": status,
            "latency_ms": latency_ms,
            "rows": rows,
            "inputs": inputs,
            "outputs": outputs,
        }
        try:
            self.queue.put_nowait(entry)
        except queue.Full:
            self.on_drop(rows)

    def _run(self) -> None:
        import time

        last_flush = time.monotonic()
        while True:
            try:
                item = self.queue.get(timeout=self.flush_every_s)
            except queue.Empty:
                item = None
            batch: list[dict[str, Any]] = []
            stop = item is _STOP
            if item is not None and not stop:
                batch.extend(build_rows(item))
                while len(batch) < 5000:
                    try:
                        more = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop = True
                        break
                    batch.extend(build_rows(more))
            if batch:
                try:
                    self.sink.write(batch)
                    self.written += len(batch)
                except Exception:
                    log.exception("prediction log write failed; %d rows dropped", len(batch))
                    self.on_drop(len(batch))
            if stop or time.monotonic() - last_flush >= self.flush_every_s:
                with contextlib.suppress(Exception):
                    self.sink.flush()
                last_flush = time.monotonic()
            if stop:
                return

    def close(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(Exception):
            self.queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout)
        self._thread = None
        with contextlib.suppress(Exception):
            self.sink.close()
