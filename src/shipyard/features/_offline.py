"""The offline engine: point-in-time joins, as-of snapshots and materialization scans.

Everything runs in DuckDB over the Parquet files of each view's source. Feature history is
never loaded into pandas: DuckDB streams the files through a de-duplicating window and an
ASOF join, and only the result (one row per entity row) becomes an Arrow table.

Semantics (one place, shared by every path):

* A feature row applies to an entity row when ``feature.event_time <= entity.timestamp``;
  the latest such row wins.
* Rows with the same entity key and event time are ordered by the created timestamp
  (later wins, missing created timestamps lose), then by file name and row position
  (later wins: the row written last is the correction).
* A row older than the view's TTL relative to the lookup time gives nulls.
* Materialization windows are ``start <= event_time < end``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ..core import InvalidInput, as_utc
from ._definitions import DTYPES
from ._source import Source

MEMORY_LIMIT = "1GB"
"""DuckDB's memory limit per query; beyond it DuckDB spills to the workspace's temp folder."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class ViewScan:
    """What one query needs to know about one feature view."""

    alias: str
    name: str
    join_keys: list[str]
    timestamp: str
    created_timestamp: str | None
    features: list[tuple[str, str, str]]  # (source column, dtype, output name)
    ttl_us: int | None
    source: Source

    def _ts_expr(self, column: str) -> str:
        t = self.source.schema.field(column).type
        if pa.types.is_timestamp(t) and t.tz is not None:
            return f"timezone('UTC', {q(column)})"
        return f"CAST({q(column)} AS TIMESTAMP)"

    def base_sql(self, where: str = "", *, tiebreak: bool = True) -> str:
        """The source with normalized columns: keys, ``__ts``, features and, with
        *tiebreak*, ``__created``/``__file``/``__fname``/``__rown`` for ordering ties."""
        cols = [q(k) for k in self.join_keys]
        cols.append(f"{self._ts_expr(self.timestamp)} AS __ts")
        if tiebreak:
            if self.created_timestamp:
                cols.append(f"{self._ts_expr(self.created_timestamp)} AS __created")
            else:
                cols.append("CAST(NULL AS TIMESTAMP) AS __created")
            cols += [
                f"list_position({self.source.files_sql()}, filename) AS __file",
                "filename AS __fname",
                "file_row_number AS __rown",
            ]
        cols += [
            f"CAST({q(src)} AS {DTYPES[dtype]}) AS {q(self.alias + '__' + src)}"
            for src, dtype, _ in self.features
        ]
        scan = self.source.scan_sql() if tiebreak else self.source.plain_scan_sql()
        sql = f"SELECT {', '.join(cols)} FROM {scan}"
        if where:
            sql = f"SELECT * FROM ({sql}) WHERE {where}"
        return sql

    def order_desc(self) -> str:
        return "__created DESC NULLS LAST, __file DESC, __fname DESC, __rown DESC"

    def _order_key(self) -> str:
        """The tie-break order as one comparable value (larger wins)."""
        return (
            "(__ts, coalesce(epoch_us(__created), -9223372036854775807), __file, __fname, __rown)"
        )

    def deduped_sql(self, unique: bool = False) -> str:
        """At most one row per (entity key, event time): the tie-break rule applied.

        With *unique* (the caller knows no two rows share key and event time) the
        source is used as is, which saves a sort of the whole history.
        """
        if unique:
            return self.base_sql(tiebreak=False)
        keys = ", ".join(q(k) for k in self.join_keys)
        return (
            f"SELECT * FROM ({self.base_sql()}) QUALIFY row_number() OVER "
            f"(PARTITION BY {keys}, __ts ORDER BY {self.order_desc()}) = 1"
        )

    def latest_sql(self, where: str) -> str:
        """The latest row per entity key among rows matching *where* (one hash
        aggregation: ``arg_max`` over the tie-break order, no sort of the history)."""
        keys = ", ".join(q(k) for k in self.join_keys)
        payload = ["__ts", "__created"] + [
            q(self.alias + "__" + src) for src, _, _ in self.features
        ]
        packed = ", ".join(f"{c} := {c}" for c in payload)
        inner = (
            f"SELECT {keys}, arg_max(struct_pack({packed}), {self._order_key()}) AS __r "
            f"FROM ({self.base_sql(where)}) GROUP BY {keys}"
        )
        return f"SELECT {keys}, unnest(__r) FROM ({inner})"

    def duplicates_sql(self) -> str:
        keys = ", ".join(q(k) for k in self.join_keys)
        return (
            f"SELECT count(*) FROM (SELECT {keys}, __ts FROM ({self.base_sql(tiebreak=False)}) "
            f"GROUP BY ALL HAVING count(*) > 1)"
        )

    def feature_exprs(self, lookup_ts: str) -> list[str]:
        out = []
        for src, _, name in self.features:
            col = f"{self.alias}.{q(self.alias + '__' + src)}"
            if self.ttl_us is not None:
                col = (
                    f"CASE WHEN epoch_us({lookup_ts}) - epoch_us({self.alias}.__ts) "
                    f"<= {self.ttl_us} THEN {col} END"
                )
            out.append(f"{col} AS {q(name)}")
        return out


class _Engine:
    """One in-memory DuckDB database per temp folder, reused across queries.

    Opening a DuckDB database costs tens of milliseconds; a cursor on an open one costs
    microseconds. Each query gets its own cursor (its own connection: registrations are
    private to it), so concurrent queries from several threads are safe. fsspec
    filesystems are registered database-wide once; a second, different filesystem for
    the same protocol (another S3 endpoint) gets a private database instead.
    """

    def __init__(self, temp_dir: str | None) -> None:
        config: dict[str, Any] = {"memory_limit": MEMORY_LIMIT}
        if temp_dir:
            config["temp_directory"] = temp_dir
        self.config = config
        self.db = duckdb.connect(config=config)
        self.lock = threading.Lock()
        self.filesystems: dict[int, Any] = {}

    @contextlib.contextmanager
    def cursor(self, sources: Sequence[Source]) -> Iterator[duckdb.DuckDBPyConnection]:
        private = False
        with self.lock:
            for src in sources:
                fs = src.filesystem
                if fs is None or id(fs) in self.filesystems:
                    continue
                try:
                    self.db.register_filesystem(fs)
                    self.filesystems[id(fs)] = fs
                except duckdb.Error:
                    private = True
        if private:
            con = duckdb.connect(config=self.config)
            try:
                for src in sources:
                    src.register(con)
                yield con
            finally:
                con.close()
            return
        cur = self.db.cursor()
        try:
            yield cur
        finally:
            cur.close()


_engines: dict[str | None, _Engine] = {}
_engines_lock = threading.Lock()


@contextlib.contextmanager
def connect(
    temp_dir: str | None = None, sources: Sequence[Source] = ()
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection that can read *sources* (their filesystems registered)."""
    with _engines_lock:
        engine = _engines.get(temp_dir)
        if engine is None:
            engine = _engines[temp_dir] = _Engine(temp_dir)
    with engine.cursor(sources) as con:
        yield con


def ts_literal(value: datetime) -> str:
    v = as_utc(value).replace(tzinfo=None)
    return f"TIMESTAMP '{v.isoformat(sep=' ', timespec='microseconds')}'"


def prepare_entities(table: pa.Table, timestamp: str) -> pa.Table:
    """Add ``__sy_row`` (input order) and ``__sy_ts`` (UTC, naive, µs) to an entity table."""
    if timestamp not in table.column_names:
        raise InvalidInput(
            f"the entity dataframe has no timestamp column {timestamp!r} (columns: "
            f"{', '.join(table.column_names)}); add the time each row's features are "
            f"wanted at, or pass timestamp='<column>'",
            details={"column": timestamp},
        )
    col = table.column(timestamp)
    t = col.type
    try:
        if pa.types.is_timestamp(t):
            ts = col.cast(pa.timestamp("us", tz=t.tz)).cast(pa.timestamp("us"))
        elif pa.types.is_date(t):
            ts = col.cast(pa.timestamp("us"))
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            ts = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        else:
            raise TypeError(str(t))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        raise InvalidInput(
            f"the entity dataframe's timestamp column {timestamp!r} has type {t}, "
            "which is not a timestamp; convert it (pandas.to_datetime) first",
            details={"column": timestamp, "type": str(t)},
        ) from None
    for reserved in ("__sy_row", "__sy_ts"):
        if reserved in table.column_names:
            raise InvalidInput(f"the entity dataframe may not have a column named {reserved}")
    table = table.append_column("__sy_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    return table.append_column("__sy_ts", ts)


def check_keys(entities: pa.Table, scans: list[ViewScan]) -> None:
    for s in scans:
        for k in s.join_keys:
            if k not in entities.column_names:
                raise InvalidInput(
                    f"the entity dataframe lacks the join key {k!r} of feature view "
                    f"{s.name!r}; add a {k!r} column",
                    details={"view": s.name, "join_key": k},
                )
            left, right = entities.schema.field(k).type, s.source.schema.field(k).type
            if _key_kind(left) != _key_kind(right) and not pa.types.is_null(left):
                raise InvalidInput(
                    f"join key {k!r} is {left} in the entity dataframe but {right} in the "
                    f"source of feature view {s.name!r}; convert the entity column",
                    details={"view": s.name, "join_key": k},
                )


def _key_kind(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return str(t)


def has_duplicate_times(scan: ViewScan, *, temp_dir: str | None = None) -> bool:
    """True if two source rows share an entity key and an event time."""
    with connect(temp_dir, [scan.source]) as con:
        row = con.execute(scan.duplicates_sql()).fetchone()
    return bool(row and row[0])


def point_in_time_join(
    entities: pa.Table,
    scans: list[ViewScan],
    *,
    unique: Sequence[bool] | None = None,
    temp_dir: str | None = None,
) -> pa.Table:
    """Entity rows (with ``__sy_row``/``__sy_ts``) plus each requested feature, in input order."""
    check_keys(entities, scans)
    taken = set(entities.column_names)
    for s in scans:
        for _, _, name in s.features:
            if name in taken:
                raise InvalidInput(
                    f"output column {name!r} (feature of view {s.name!r}) collides with an "
                    "entity dataframe column or another feature; rename the column or pass "
                    "full_feature_names=True",
                    details={"column": name},
                )
            taken.add(name)
    with connect(temp_dir, [s.source for s in scans]) as con:
        con.register("__entities", entities)
        selects = ["e.* EXCLUDE (__sy_ts)"]
        joins = []
        for i, s in enumerate(scans):
            on = " AND ".join(f"e.{q(k)} = {s.alias}.{q(k)}" for k in s.join_keys)
            dedup = s.deduped_sql(unique=bool(unique and unique[i]))
            joins.append(
                f"ASOF LEFT JOIN ({dedup}) {s.alias} ON {on} AND e.__sy_ts >= {s.alias}.__ts"
            )
            selects += s.feature_exprs("e.__sy_ts")
        sql = f"SELECT {', '.join(selects)} FROM __entities e {' '.join(joins)} ORDER BY e.__sy_row"
        result = con.sql(sql).to_arrow_table()
    return result.drop_columns(["__sy_row"])


def as_of(scans: list[ViewScan], when: datetime, *, temp_dir: str | None = None) -> pa.Table:
    """Every entity's latest features as of *when* (inclusive), nulls outside the TTL."""
    keys = scans[0].join_keys
    for s in scans[1:]:
        if s.join_keys != keys:
            raise InvalidInput(
                f"feature views {scans[0].name!r} and {s.name!r} have different join keys "
                f"({keys} vs {s.join_keys}); request them separately or pass entities=",
            )
    lit = ts_literal(when)
    kcols = ", ".join(q(k) for k in keys)
    with connect(temp_dir, [s.source for s in scans]) as con:
        ctes = [f"{s.alias} AS ({s.latest_sql(f'__ts <= {lit}')})" for s in scans]
        union = " UNION ".join(f"SELECT {kcols} FROM {s.alias}" for s in scans)
        ctes.append(f"__keys AS ({union})")
        selects = [f"k.{q(k)}" for k in keys]
        joins = []
        for s in scans:
            on = " AND ".join(f"k.{q(k)} = {s.alias}.{q(k)}" for k in keys)
            joins.append(f"LEFT JOIN {s.alias} ON {on}")
            selects += s.feature_exprs(lit)
        sql = (
            f"WITH {', '.join(ctes)} SELECT {', '.join(selects)} FROM __keys k "
            f"{' '.join(joins)} ORDER BY {', '.join('k.' + q(k) for k in keys)}"
        )
        return con.sql(sql).to_arrow_table()


def latest_batches(
    scan: ViewScan,
    start: datetime | None,
    end: datetime,
    *,
    batch_size: int = 50_000,
    temp_dir: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """The latest row per entity with ``start <= event_time < end``, as record batches.

    Columns: the join keys, ``__ts_us``, ``__created_us``, then the features in order.
    """
    where = f"__ts < {ts_literal(end)}"
    if start is not None:
        where = f"__ts >= {ts_literal(start)} AND {where}"
    feats = ", ".join(q(scan.alias + "__" + src) for src, _, _ in scan.features)
    keys = ", ".join(q(k) for k in scan.join_keys)
    sql = (
        f"SELECT {keys}, epoch_us(__ts) AS __ts_us, epoch_us(__created) AS __created_us, "
        f"{feats} FROM ({scan.latest_sql(where)})"
    )
    with connect(temp_dir, [scan.source]) as con:
        reader = con.sql(sql).to_arrow_reader(batch_size)
        yield from reader


def history_batches(
    scan: ViewScan,
    start: datetime | None,
    end: datetime,
    n: int,
    *,
    batch_size: int = 50_000,
    temp_dir: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """For each entity with a row in ``start <= event_time < end``: its last *n* rows
    with ``event_time < end`` (one per event time, tie-break applied), newest first.

    Columns: the join keys, then ``__h``, a list of structs ``(__ts_us, __created_us,
    features...)``. The history is recomputed from the source, never merged, so a
    window replayed or materialized twice gives the same result.
    """
    keys = ", ".join(q(k) for k in scan.join_keys)
    end_lit = ts_literal(end)
    touched = f"__ts < {end_lit}"
    if start is not None:
        touched = f"__ts >= {ts_literal(start)} AND {touched}"
    feats = [q(scan.alias + "__" + src) for src, _, _ in scan.features]
    packed = ", ".join(
        ["__ts_us := epoch_us(__ts)", "__created_us := epoch_us(__created)"]
        + [f"{f} := {f}" for f in feats]
    )
    window = scan.base_sql(touched, tiebreak=False)
    sql = (
        f"WITH __touched AS (SELECT DISTINCT {keys} FROM ({window})), "
        f"__ranked AS (SELECT * FROM ({scan.deduped_sql()}) d SEMI JOIN __touched USING ({keys}) "
        f"WHERE d.__ts < {end_lit} QUALIFY row_number() OVER "
        f"(PARTITION BY {keys} ORDER BY __ts DESC) <= {int(n)}) "
        f"SELECT {keys}, list(struct_pack({packed}) ORDER BY __ts DESC) AS __h "
        f"FROM __ranked GROUP BY {keys}"
    )
    with connect(temp_dir, [scan.source]) as con:
        reader = con.sql(sql).to_arrow_reader(batch_size)
        yield from reader


def freshness(scan: ViewScan, *, temp_dir: str | None = None) -> dict[str, Any]:
    """Row count and the newest event time of a view's source."""
    with connect(temp_dir, [scan.source]) as con:
        rows, newest, oldest, keys = con.execute(
            f"SELECT count(*), max(__ts), min(__ts), "
            f"count(DISTINCT ({', '.join(q(k) for k in scan.join_keys)})) "
            f"FROM ({scan.base_sql(tiebreak=False)})"
        ).fetchone() or (0, None, None, 0)
    return {
        "rows": int(rows),
        "entities": int(keys),
        "newest_event": None if newest is None else as_utc(newest),
        "oldest_event": None if oldest is None else as_utc(oldest),
    }


def read_columns(scan: ViewScan, *, temp_dir: str | None = None) -> pa.Table:
    """The feature columns of a view's source (for statistics)."""
    cols = ", ".join(f"{q(scan.alias + '__' + src)} AS {q(src)}" for src, _, _ in scan.features)
    with connect(temp_dir, [scan.source]) as con:
        return con.sql(f"SELECT {cols} FROM ({scan.base_sql(tiebreak=False)})").to_arrow_table()
