"""Prediction logs: a thread-safe sink writing rolling Parquet files, and reads by window.

A server hands every predicted row to :meth:`PredictionLogSink.write`; rows are
buffered and flushed as one Parquet file per (model, version, deployment) when the
buffer reaches ``max_rows`` or is ``max_age_s`` old (a background timer flushes quiet
sinks), and on :meth:`~PredictionLogSink.flush` / :meth:`~PredictionLogSink.close`.
Inputs and outputs are flattened to ``in_<col>`` / ``out_<name>`` columns so a check
reads only the columns it needs.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..core import InvalidInput, as_utc, new_id, utcnow
from .tables import prediction_log_files

if TYPE_CHECKING:
    from .._workspace import Workspace

log = logging.getLogger("shipyard.monitoring")

BASE_COLUMNS = (
    "request_id",
    "row",
    "ts",
    "model",
    "version",
    "deployment",
    "protocol",
    "status",
    "latency_ms",
)
IN_PREFIX = "in_"
OUT_PREFIX = "out_"
_TS_TYPE = pa.timestamp("us", tz="UTC")


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        try:
            return value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, default=str)


def flatten_rows(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows in the sink's format as one Arrow table with flattened columns."""
    cols: dict[str, list[Any]] = {c: [] for c in BASE_COLUMNS}
    extra: dict[str, list[Any]] = {}
    n = len(rows)
    for i, r in enumerate(rows):
        ts = r.get("ts")
        cols["request_id"].append(str(r.get("request_id", "")))
        cols["row"].append(int(r.get("row", 0)))
        cols["ts"].append(as_utc(ts) if isinstance(ts, datetime) else utcnow())
        cols["model"].append(str(r.get("model", "")))
        cols["version"].append(int(r.get("version", 0)))
        cols["deployment"].append(r.get("deployment"))
        cols["protocol"].append(str(r.get("protocol", "")))
        cols["status"].append(int(r.get("status", 200)))
        lat = r.get("latency_ms")
        cols["latency_ms"].append(float(lat) if lat is not None else None)
        for prefix, key in ((IN_PREFIX, "inputs"), (OUT_PREFIX, "outputs")):
            for k, v in (r.get(key) or {}).items():
                name = prefix + str(k)
                col = extra.get(name)
                if col is None:
                    col = extra[name] = [None] * i
                col.append(_scalar(v))
        for col in extra.values():
            if len(col) < i + 1:
                col.append(None)
    arrays: dict[str, pa.Array] = {
        "request_id": pa.array(cols["request_id"], pa.string()),
        "row": pa.array(cols["row"], pa.int32()),
        "ts": pa.array(cols["ts"], _TS_TYPE),
        "model": pa.array(cols["model"], pa.string()),
        "version": pa.array(cols["version"], pa.int32()),
        "deployment": pa.array(cols["deployment"], pa.string()),
        "protocol": pa.array(cols["protocol"], pa.string()),
        "status": pa.array(cols["status"], pa.int16()),
        "latency_ms": pa.array(cols["latency_ms"], pa.float64()),
    }
    for name in sorted(extra):
        values = extra[name]
        values.extend([None] * (n - len(values)))
        arrays[name] = _to_array(values)
    return pa.table(arrays)


def _to_array(values: list[Any]) -> pa.Array:
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if pa.types.is_null(arr.type):
        return arr.cast(pa.float64())
    return arr


def write_log_table(
    ws: Workspace, table: pa.Table, *, model: str, version: int, deployment: str | None
) -> str:
    """Store one flattened log table as a Parquet blob and record it; returns the file id."""
    if table.num_rows == 0:
        raise InvalidInput("cannot write an empty prediction log file")
    ts = table.column("ts")
    import pyarrow.compute as pc

    lo, hi = pc.min(ts).as_py(), pc.max(ts).as_py()
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=128 * 1024)
    digest = ws.blobs.put_bytes(buf.getvalue())
    file_id = new_id()
    with ws.db.write() as conn:
        conn.execute(
            prediction_log_files.insert().values(
                id=file_id,
                model=model,
                version=int(version),
                deployment=deployment,
                min_ts=as_utc(lo),
                max_ts=as_utc(hi),
                rows=table.num_rows,
                digest=digest,
                columns=table.column_names,
                created_at=utcnow(),
            )
        )
    return file_id


class PredictionLogSink:
    """Buffers predicted rows and writes them as rolling Parquet files (thread-safe).

    Rows arrive as dicts (:meth:`write`) or, from servers, as Arrow tables already in
    the flattened log format (:meth:`write_table`, no per-row Python work); both are
    buffered per (model, version, deployment) and written together.
    """

    def __init__(
        self,
        ws: Workspace,
        deployment: str | None = None,
        *,
        max_rows: int = 50_000,
        max_age_s: float = 10.0,
        background: bool = True,
    ) -> None:
        if max_rows < 1:
            raise InvalidInput("max_rows must be at least 1")
        self.ws = ws
        self.deployment = deployment
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._buffer: dict[tuple[str, int, str | None], list[pa.Table]] = {}
        self._buffered_rows = 0
        self._first_at: float | None = None
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.files_written = 0
        self.rows_written = 0
        if background and max_age_s > 0:
            self._thread = threading.Thread(
                target=self._timer, name="shipyard-prediction-log", daemon=True
            )
            self._thread.start()

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Buffer rows (dicts with the base columns, ``inputs`` and ``outputs``)."""
        rows = list(rows)
        if not rows:
            return
        groups: dict[tuple[str, int, str | None], list[dict[str, Any]]] = {}
        for r in rows:
            if r.get("deployment") is None and self.deployment is not None:
                r["deployment"] = self.deployment
            key = (str(r.get("model", "")), int(r.get("version", 0)), r.get("deployment"))
            groups.setdefault(key, []).append(r)
        for (model, version, deployment), part in groups.items():
            self.write_table(
                flatten_rows(part), model=model, version=version, deployment=deployment
            )

    def write_table(
        self, table: pa.Table, *, model: str, version: int, deployment: str | None = None
    ) -> None:
        """Buffer a table in the flattened log format (the columns of :func:`flatten_rows`)."""
        if table.num_rows == 0:
            return
        if deployment is None and self.deployment is not None:
            deployment = self.deployment
            i = table.schema.get_field_index("deployment")
            column = pa.array([deployment] * table.num_rows, pa.string())
            table = table.set_column(i, "deployment", column) if i >= 0 else table
        with self._lock:
            if self._closed:
                raise InvalidInput("the prediction log sink is closed")
            self._buffer.setdefault((model, int(version), deployment), []).append(table)
            self._buffered_rows += table.num_rows
            if self._first_at is None:
                self._first_at = time.monotonic()
            due = self._buffered_rows >= self.max_rows or (
                time.monotonic() - self._first_at >= self.max_age_s
            )
            batch = self._take() if due else None
        if batch:
            self._write(batch)

    def _take(self) -> dict[tuple[str, int, str | None], list[pa.Table]]:
        batch, self._buffer, self._first_at = self._buffer, {}, None
        self._buffered_rows = 0
        return batch

    def _write(self, batch: dict[tuple[str, int, str | None], list[pa.Table]]) -> None:
        with self._write_lock:
            for (model, version, deployment), tables in batch.items():
                table = (
                    tables[0]
                    if len(tables) == 1
                    else pa.concat_tables(tables, promote_options="permissive")
                )
                write_log_table(self.ws, table, model=model, version=version, deployment=deployment)
                self.files_written += 1
                self.rows_written += table.num_rows

    def flush(self) -> None:
        """Write everything buffered now."""
        with self._lock:
            batch = self._take()
        if batch:
            self._write(batch)

    def _timer(self) -> None:
        while not self._stop.wait(max(self.max_age_s / 2, 0.05)):
            with self._lock:
                due = self._first_at is not None and (
                    time.monotonic() - self._first_at >= self.max_age_s
                )
                batch = self._take() if due else None
            if batch:
                try:
                    self._write(batch)
                except Exception:  # keep serving; the rows are reported lost
                    n = sum(t.num_rows for ts in batch.values() for t in ts)
                    log.exception("cannot write %d prediction log rows", n)

    def close(self) -> None:
        """Flush and stop the background timer; further writes raise."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()
        with self._lock:
            self._closed = True

    def __enter__(self) -> PredictionLogSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_prediction_log(
    ws: Workspace, deployment: str | None = None, **options: Any
) -> PredictionLogSink:
    """The prediction-log sink for a server (``max_rows``, ``max_age_s`` tune flushing)."""
    return PredictionLogSink(ws, deployment, **options)


def log_files(
    ws: Workspace,
    model: str,
    version: int | Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    deployment: str | None = None,
) -> list[dict[str, Any]]:
    """The recorded log files of a model overlapping ``[start, end)``."""
    t = prediction_log_files
    q = sa.select(t).where(t.c.model == model)
    if version is not None:
        versions = [version] if isinstance(version, int) else list(version)
        q = q.where(t.c.version.in_(versions))
    if deployment is not None:
        q = q.where(t.c.deployment == deployment)
    if start is not None:
        q = q.where(t.c.max_ts >= as_utc(start))
    if end is not None:
        q = q.where(t.c.min_ts < as_utc(end))
    with ws.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(t.c.min_ts))]


def _read_file(ws: Workspace, digest: str, columns: Sequence[str] | None) -> pa.Table:
    path = ws.blobs.local_path(digest)
    source: Any = str(path) if path is not None else io.BytesIO(ws.blobs.get_bytes(digest))
    pf = pq.ParquetFile(source)
    names = set(pf.schema_arrow.names)
    if columns is None:
        return pf.read()
    return pf.read(columns=[c for c in columns if c in names])


def read_prediction_logs(
    ws: Workspace,
    model: str,
    version: int | Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    columns: Sequence[str] | None = None,
    *,
    deployment: str | None = None,
) -> pa.Table:
    """Prediction log rows of a model (optionally a version) with ``start <= ts < end``.

    *columns* names flattened columns (``in_age``, ``out_label``, ``latency_ms``…); only
    those are read. Returns an Arrow table (``duckdb.arrow(table)`` for SQL); an empty
    window gives an empty table with the requested columns.
    """
    files = log_files(ws, model, version, start, end, deployment)
    want = None if columns is None else list(dict.fromkeys([*columns, "ts"]))
    if not files:
        names = list(columns) if columns is not None else list(BASE_COLUMNS)
        return pa.table({c: pa.array([], _TS_TYPE if c == "ts" else pa.null()) for c in names})
    from concurrent.futures import ThreadPoolExecutor

    if len(files) == 1:
        tables = [_read_file(ws, files[0]["digest"], want)]
    else:
        with ThreadPoolExecutor(min(8, len(files))) as pool:
            tables = list(pool.map(lambda f: _read_file(ws, f["digest"], want), files))
    table = pa.concat_tables(tables, promote_options="permissive")
    if start is not None or end is not None:
        import pyarrow.compute as pc

        ts = table.column("ts")
        mask = None
        if start is not None:
            mask = pc.greater_equal(ts, pa.scalar(as_utc(start), _TS_TYPE))
        if end is not None:
            m2 = pc.less(ts, pa.scalar(as_utc(end), _TS_TYPE))
            mask = m2 if mask is None else pc.and_(mask, m2)
        if mask is not None and not all_true(mask):
            table = table.filter(mask)
    if columns is not None:
        keep = [c for c in columns if c in table.column_names]
        missing = [c for c in columns if c not in table.column_names]
        table = table.select(keep)
        for c in missing:
            table = table.append_column(c, pa.nulls(table.num_rows))
    return table


def all_true(mask: pa.ChunkedArray | pa.Array) -> bool:
    import pyarrow.compute as pc

    return bool(pc.all(mask).as_py()) and mask.null_count == 0
