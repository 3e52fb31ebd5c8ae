"""The tracking services on the Workspace: ``ws.experiments`` and ``ws.runs``."""

from __future__ import annotations

import base64
import builtins
import contextvars
import json
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..core import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    did_you_mean,
    is_id,
    new_id,
    utcnow,
    validate_name,
)
from ..store import Node
from ._env import capture_environment
from ._filter import parse_filter, parse_order_by
from ._query import QueryBuilder
from ._run import Artifact, Run, iter_param_rows, validate_key
from ._series import Series, lttb_indices, minmax_indices
from ._writer import MetricWriter, on_exit, unpack, write_points, writer_for
from .tables import (
    experiments,
    metric_chunks,
    metric_series,
    run_artifacts,
    run_params,
    run_tags,
    runs,
)

DEFAULT_EXPERIMENT = "default"
MAX_RESULTS = 10_000

_active: contextvars.ContextVar[tuple[Run, ...]] = contextvars.ContextVar(
    "shipyard_active_runs", default=()
)


def active_run() -> Run | None:
    """The innermost run entered with ``with ws.start_run(...)`` in this context."""
    stack = _active.get()
    return stack[-1] if stack else None


# ---------------------------------------------------------------------- exit handling
_live_runs: dict[str, Run] = {}
_live_lock = threading.Lock()
_uncaught: list[str] = []
_hooked = False


def _install_hooks() -> None:
    global _hooked
    if _hooked:
        return
    _hooked = True
    previous = sys.excepthook

    def hook(tp: Any, value: Any, tb: Any) -> None:
        _uncaught.append(f"{tp.__name__}: {value}")
        previous(tp, value, tb)

    sys.excepthook = hook
    on_exit(_end_live_runs)


def _end_live_runs() -> None:
    with _live_lock:
        live = list(_live_runs.values())
    for run in live:
        try:
            if _uncaught:
                run.end("failed", error=f"the process exited with an uncaught {_uncaught[-1]}")
            else:
                run.end("finished")
        except Exception:  # pragma: no cover - best effort at exit
            pass


# ---------------------------------------------------------------------- experiments
@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    description: str
    tags: dict[str, Any]
    created_at: datetime
    run_count: int = 0
    last_run_at: datetime | None = None

    @property
    def lineage_node(self) -> Node:
        return Node("experiment", self.id, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "created_at": self.created_at.isoformat(),
            "run_count": self.run_count,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
        }


def _insert(db_backend: str, table: sa.Table) -> Any:
    return postgresql.insert(table) if db_backend == "postgresql" else sqlite.insert(table)


class Experiments:
    """Named groups of runs (``ws.experiments``)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    def create(
        self, name: str, description: str = "", tags: Mapping[str, Any] | None = None
    ) -> Experiment:
        validate_name(name, "experiment")
        exp_id = new_id()
        now = utcnow()
        try:
            return self._create(exp_id, name, description, dict(tags or {}), now)
        except sa.exc.IntegrityError:  # created concurrently by another process
            raise AlreadyExists(
                f"experiment {name!r} exists already; use ws.experiments.get(name) "
                "or pick another name",
                details={"name": name},
            ) from None

    def _create(
        self, exp_id: str, name: str, description: str, tags: dict[str, Any], now: datetime
    ) -> Experiment:
        with self.ws.db.write() as conn:
            exists = conn.execute(
                sa.select(experiments.c.id).where(experiments.c.name == name)
            ).first()
            if exists is not None:
                raise AlreadyExists(
                    f"experiment {name!r} exists already (id {exists.id}); use "
                    "ws.experiments.get(name) or pick another name",
                    details={"name": name},
                )
            conn.execute(
                experiments.insert().values(
                    id=exp_id, name=name, description=description, tags=tags, created_at=now
                )
            )
            exp = Experiment(exp_id, name, description, tags, now)
            self.ws.lineage.add(exp.lineage_node, conn=conn)
        return exp

    def get_or_create(self, name: str) -> Experiment:
        try:
            return self.get(name)
        except NotFound:
            try:
                return self.create(name)
            except AlreadyExists:  # created concurrently
                return self.get(name)

    def get(self, ref: str) -> Experiment:
        """An experiment by name or id."""
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(experiments).where(
                    sa.or_(experiments.c.name == ref, experiments.c.id == ref)
                )
            ).first()
            if row is None:
                names = list(conn.execute(sa.select(experiments.c.name)).scalars())
                raise NotFound(
                    f"no experiment {ref!r} in workspace {self.ws.home}; {did_you_mean(names)}",
                    details={"ref": ref},
                )
            count, last = conn.execute(
                sa.select(sa.func.count(), sa.func.max(runs.c.start_time)).where(
                    runs.c.experiment_id == row.id
                )
            ).one()
        return Experiment(
            row.id, row.name, row.description, row.tags or {}, row.created_at, count or 0, last
        )

    def list(self, limit: int | None = None, offset: int = 0) -> list[Experiment]:
        """Experiments by name with their run counts (*limit* of them after *offset*)."""
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise InvalidInput(f"limit must be a positive integer, got {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInput(f"offset must be 0 or more, got {offset!r}")
        counts = (
            sa.select(
                runs.c.experiment_id,
                sa.func.count().label("n"),
                sa.func.max(runs.c.start_time).label("last"),
            )
            .group_by(runs.c.experiment_id)
            .subquery()
        )
        q = (
            sa.select(experiments, counts.c.n, counts.c.last)
            .outerjoin(counts, counts.c.experiment_id == experiments.c.id)
            .order_by(experiments.c.name)
            .limit(limit)
            .offset(offset or None)
        )
        with self.ws.db.read() as conn:
            rows = conn.execute(q).all()
        return [
            Experiment(r.id, r.name, r.description, r.tags or {}, r.created_at, r.n or 0, r.last)
            for r in rows
        ]

    def count(self) -> int:
        """How many experiments the workspace holds."""
        with self.ws.db.read() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(experiments)).scalar_one()
            )


# ---------------------------------------------------------------------- results
class RunPage(list[Run]):
    """A page of search results; ``next_page_token`` is None on the last page and
    ``previous_page_token`` None on the first."""

    next_page_token: str | None = None
    previous_page_token: str | None = None

    def to_pandas(self) -> Any:
        import pandas as pd

        rows = []
        for r in self:
            row: dict[str, Any] = {
                "run_id": r.id,
                "experiment": r.experiment,
                "name": r.name,
                "status": r.status,
                "start_time": r.start_time,
                "end_time": r.end_time,
                "duration_s": r.duration_s,
            }
            row.update({f"params.{k}": v for k, v in r.params.items()})
            row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
            row.update({f"tags.{k}": v for k, v in r.tags.items()})
            rows.append(row)
        return pd.DataFrame(rows)


@dataclass
class Comparison:
    """Params that differ between runs, and every run's metric summaries."""

    run_ids: list[str]
    names: dict[str, str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # differing only
    same_params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def to_pandas(self) -> Any:
        import pandas as pd

        index = [f"params.{k}" for k in self.params] + [f"metrics.{k}" for k in self.metrics]
        data = {
            rid: [self.params[k].get(rid) for k in self.params]
            + [(self.metrics[k].get(rid) or {}).get("last") for k in self.metrics]
            for rid in self.run_ids
        }
        return pd.DataFrame(data, index=index)


def _encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> int:
    try:
        pad = "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(token + pad))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            f"invalid page token {token!r}: pass the next_page_token of a previous search",
            details={"page_token": token},
        ) from None
    if data.get("f") != fingerprint or offset < 0:
        raise InvalidInput(
            "the page token belongs to a search with another filter or ordering; "
            "start again without page_token",
            details={"page_token": token},
        )
    return offset


# ---------------------------------------------------------------------- runs
class Runs:
    """Tracked runs (``ws.runs``): start, get, search, compare, series, artifacts.

    ``heartbeat_s`` is how often a live run's process proves it is alive; a reader marks
    a running run *lost* when its heartbeat is older than ``lost_after`` heartbeats (and
    at least ``lost_grace_s``).
    """

    heartbeat_s: float = 10.0
    lost_after: float = 3.0
    lost_grace_s: float = 30.0

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._last_sweep = 0.0

    @property
    def writer(self) -> MetricWriter:
        return writer_for(self.ws.db)

    def _insert(self, table: sa.Table) -> Any:
        return _insert(self.ws.db.backend, table)

    # ------------------------------------------------------------------ start
    def start(
        self,
        experiment: str = DEFAULT_EXPERIMENT,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent: Run | str | None = None,
        *,
        capture_env: bool = True,
        system_metrics: float | None = None,
        heartbeat_s: float | None = None,
    ) -> Run:
        exp = self.ws.experiments.get_or_create(experiment)
        parent_id = None
        if parent is not None:
            parent_id = parent.id if isinstance(parent, Run) else self.get(str(parent)).id
        run_id = new_id()
        if name is None:
            name = f"run-{run_id[-6:].lower()}"
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise InvalidInput(f"invalid run name {name!r}: 1-256 characters")
        param_rows = list(iter_param_rows(run_id, params or {}))
        tag_rows = [
            {"run_id": run_id, "key": validate_key(k, "tag"), "value": str(v)}
            for k, v in (tags or {}).items()
        ]
        env, diff = capture_environment() if capture_env else ({}, None)
        hb = float(heartbeat_s or self.heartbeat_s)
        now = utcnow()
        row = {
            "id": run_id,
            "experiment_id": exp.id,
            "name": name,
            "status": "running",
            "parent_id": parent_id,
            "start_time": now,
            "end_time": None,
            "heartbeat_at": now,
            "heartbeat_s": hb,
            "error": None,
            "env": env,
        }
        with self.ws.db.write() as conn:
            conn.execute(runs.insert().values(**row))
            if param_rows:
                conn.execute(run_params.insert(), param_rows)
            if tag_rows:
                conn.execute(run_tags.insert(), tag_rows)
            run = Run(
                self,
                _Row(row),
                exp.name,
                {r["key"]: params[r["key"]] for r in param_rows} if params else {},
                {r["key"]: r["value"] for r in tag_rows},
            )
            self.ws.lineage.created(run.lineage_node, conn=conn)
        run._owned = True
        _install_hooks()
        with _live_lock:
            _live_runs[run.id] = run
        self.writer.watch(run.id, hb)
        if diff:
            run.log_text(diff, "environment/git.diff")
        if system_metrics:
            run.start_system_metrics(system_metrics)
        return run

    def forget_live(self, run: Run) -> None:
        with _live_lock:
            _live_runs.pop(run.id, None)

    def push_active(self, run: Run) -> None:
        _active.set((*_active.get(), run))

    def pop_active(self, run: Run) -> None:
        stack = _active.get()
        if run in stack:
            stack = tuple(r for r in stack if r is not run)
            _active.set(stack)

    # ------------------------------------------------------------------ writes
    def series_id(self, run_id: str, key: str) -> tuple[int, int | None]:
        with self.ws.db.write() as conn:
            conn.execute(
                self._insert(metric_series)
                .values(run_id=run_id, key=key, count=0)
                .on_conflict_do_nothing(index_elements=["run_id", "key"])
            )
            row = conn.execute(
                sa.select(metric_series.c.id, metric_series.c.last_step).where(
                    metric_series.c.run_id == run_id, metric_series.c.key == key
                )
            ).one()
        return int(row.id), row.last_step

    def write_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        rows = list(iter_param_rows(run_id, params))
        if not rows:
            return
        with self.ws.db.write() as conn:
            existing = {
                r.key: r.value
                for r in conn.execute(
                    sa.select(run_params.c.key, run_params.c.value).where(
                        run_params.c.run_id == run_id,
                        run_params.c.key.in_([r["key"] for r in rows]),
                    )
                )
            }
            for r in rows:
                old = existing.get(r["key"])
                if old is not None and old != r["value"]:
                    raise Conflict(
                        f"param {r['key']!r} of run {run_id} is already {old!r}; params are "
                        f"set once (got {r['value']!r}). Log a tag or a metric for values "
                        "that change, or start a new run",
                        details={"run_id": run_id, "key": r["key"], "old": old, "new": r["value"]},
                    )
            new = [r for r in rows if r["key"] not in existing]
            if new:
                conn.execute(run_params.insert(), new)

    def write_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        rows = [
            {"run_id": run_id, "key": validate_key(k, "tag"), "value": str(v)}
            for k, v in tags.items()
        ]
        if not rows:
            return
        ins = self._insert(run_tags)
        with self.ws.db.write() as conn:
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": ins.excluded.value}
                ),
                rows,
            )

    def write_artifacts(
        self, run_id: str, items: Sequence[tuple[str, str, int]]
    ) -> builtins.list[Artifact]:
        now = utcnow()
        rows = [
            {"run_id": run_id, "path": p, "digest": d, "size": s, "created_at": now}
            for p, d, s in items
        ]
        ins = self._insert(run_artifacts)
        with self.ws.db.write() as conn:
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["run_id", "path"],
                    set_={"digest": ins.excluded.digest, "size": ins.excluded.size},
                ),
                rows,
            )
        return [Artifact(p, d, s) for p, d, s in items]

    def write_end(self, run_id: str, status: str, error: str | None) -> datetime:
        now = utcnow()
        with self.ws.db.write() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(status=status, end_time=now, error=error, heartbeat_at=now)
            )
        return now

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Synchronously record a batch (the REST path): all of it, or nothing on error.

        *metrics* items are ``{"key", "value", "step"?, "timestamp"?}``. Returns the
        number of metric points written.
        """
        from ._run import _ts_ms, to_float

        run = self.get(run_id)
        run._check_live("log a batch")
        prepared: list[tuple[str, int | None, int, float]] = []
        now = int(time.time() * 1000)
        for i, m in enumerate(metrics):
            if not isinstance(m, Mapping) or "key" not in m or "value" not in m:
                raise InvalidInput(
                    f"metrics[{i}] must be an object with 'key' and 'value'",
                    details={"index": i},
                )
            key = validate_key(m["key"], "metric")
            value = m["value"]
            if isinstance(value, str) and value.lower() in (
                "nan",
                "inf",
                "+inf",
                "-inf",
                "infinity",
                "-infinity",
            ):
                value = float(value)
            step = m.get("step")
            if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
                raise InvalidInput(f"metrics[{i}].step must be an integer, got {step!r}")
            ts = now if m.get("timestamp") is None else _ts_ms(m["timestamp"])
            prepared.append((key, step, ts, to_float(key, value)))
        list(iter_param_rows(run_id, params or {}))  # validate before writing anything
        for k in tags or {}:
            validate_key(k, "tag")
        if params:
            self.write_params(run_id, params)
        if tags:
            self.write_tags(run_id, tags)
        if not prepared:
            return 0
        sids: dict[str, tuple[int, int | None]] = {}
        for key, *_ in prepared:
            if key not in sids:
                sids[key] = self.series_id(run_id, key)
        next_step = {k: (ls + 1 if ls is not None else 0) for k, (_, ls) in sids.items()}
        points = []
        for key, step, ts, v in prepared:
            if step is None:
                step = next_step[key]
            next_step[key] = max(next_step[key], step + 1)
            points.append((sids[key][0], step, ts, v))
        with self.ws.db.write() as conn:
            write_points(self.ws.db, conn, points)
        return len(points)

    # ------------------------------------------------------------------ reads
    def _sweep_lost(self, force: bool = False) -> int:
        """Mark running runs whose heartbeat stopped as lost (rate-limited)."""
        mono = time.monotonic()
        if not force and mono - self._last_sweep < 1.0:
            return 0
        self._last_sweep = mono
        now = utcnow()
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(runs.c.id, runs.c.heartbeat_at, runs.c.heartbeat_s).where(
                    runs.c.status == "running"
                )
            ).all()
        stale = [
            r
            for r in rows
            if now - r.heartbeat_at
            > timedelta(seconds=max(self.lost_after * r.heartbeat_s, self.lost_grace_s))
        ]
        for r in stale:
            with self.ws.db.write() as conn:
                conn.execute(
                    runs.update()
                    .where(runs.c.id == r.id, runs.c.status == "running")
                    .values(
                        status="lost",
                        end_time=r.heartbeat_at,
                        error=(
                            "lost: the process stopped sending heartbeats at "
                            f"{r.heartbeat_at.isoformat()} (killed or crashed)"
                        ),
                    )
                )
        return len(stale)

    def get(self, ref: str) -> Run:
        """A run by id (or by name when that name is unique in the workspace)."""
        if not isinstance(ref, str) or not ref:
            raise InvalidInput(f"a run reference is a run id, got {ref!r}")
        self._sweep_lost()
        with self.ws.db.read() as conn:
            cond = runs.c.id == ref.upper() if is_id(ref) else runs.c.name == ref
            rows = conn.execute(sa.select(runs.c.id).where(cond).limit(2)).all()
            if len(rows) > 1:
                raise InvalidInput(
                    f"several runs are named {ref!r}; use the run id",
                    details={"ref": ref},
                )
            if not rows:
                raise NotFound(
                    f"no run {ref!r} in workspace {self.ws.home}; list runs with "
                    "'shipyard runs ls' or ws.runs.search()",
                    details={"ref": ref},
                )
            return self._load(conn, [rows[0].id])[0]

    def _load(self, conn: sa.Connection, ids: Sequence[str]) -> builtins.list[Run]:
        if not ids:
            return []
        rows = {
            r.id: r
            for r in conn.execute(
                sa.select(runs, experiments.c.name.label("experiment_name"))
                .join(experiments, experiments.c.id == runs.c.experiment_id)
                .where(runs.c.id.in_(ids))
            )
        }
        from ._run import decode_param

        params: dict[str, dict[str, Any]] = {i: {} for i in ids}
        p = run_params.c
        for rid, key, value, vtype in conn.execute(
            sa.select(p.run_id, p.key, p.value, p.vtype).where(p.run_id.in_(ids))
        ).all():
            params[rid][key] = decode_param(value, vtype)
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        t = run_tags.c
        for rid, key, value in conn.execute(
            sa.select(t.run_id, t.key, t.value).where(t.run_id.in_(ids))
        ).all():
            tags[rid][key] = value
        summaries = self._summaries(conn, ids)
        out = []
        for i in ids:
            r = rows.get(i)
            if r is None:
                continue
            out.append(Run(self, r, r.experiment_name, params[i], tags[i], summaries.get(i, {})))
        return out

    def _summaries(
        self, conn: sa.Connection, ids: Sequence[str]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        m = metric_series.c
        rows = conn.execute(
            sa.select(m.run_id, m.key, m.last, m.last_step, m.min, m.max, m.count).where(
                m.run_id.in_(ids), m.count > 0
            )
        ).all()
        nan = float("nan")
        for rid, key, last, last_step, mn, mx, count in rows:
            out.setdefault(rid, {})[key] = {
                "last": nan if last is None else last,
                "last_step": last_step,
                "min": mn,
                "max": mx,
                "count": count,
            }
        return out

    def summaries(self, ids: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
        with self.ws.db.read() as conn:
            return self._summaries(conn, ids)

    def _experiment_ids(self, conn: sa.Connection, names: Iterable[str]) -> builtins.list[str]:
        names = list(names)
        found = {
            r.name: r.id
            for r in conn.execute(
                sa.select(experiments.c.id, experiments.c.name).where(
                    sa.or_(experiments.c.name.in_(names), experiments.c.id.in_(names))
                )
            )
        }
        ids_by_id = set(found.values())
        missing = [n for n in names if n not in found and n not in ids_by_id]
        if missing:
            known = list(conn.execute(sa.select(experiments.c.name)).scalars())
            raise NotFound(
                f"no experiment {missing[0]!r} in workspace {self.ws.home}; {did_you_mean(known)}",
                details={"ref": missing[0]},
            )
        return list(ids_by_id)

    def _query(
        self,
        conn: sa.Connection,
        experiments_: Sequence[str] | str | None,
        filter: str | None,
        order_by: Sequence[str] | str | None,
    ) -> tuple[Any, QueryBuilder]:
        expr = parse_filter(filter)
        order = parse_order_by(order_by)
        qb = QueryBuilder()
        conds = []
        if experiments_:
            names = [experiments_] if isinstance(experiments_, str) else list(experiments_)
            conds.append(runs.c.experiment_id.in_(self._experiment_ids(conn, names)))
        if expr is not None:
            conds.append(qb.where(expr))
        order_cols = qb.order(order)
        q = sa.select(runs.c.id).select_from(qb.from_)
        if conds:
            q = q.where(*conds)
        return q.order_by(*order_cols, runs.c.start_time.desc(), runs.c.id.desc()), qb

    def search(
        self,
        experiments: Sequence[str] | str | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        """Runs matching *filter* (see the filter grammar), best first by *order_by*."""
        if not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
            raise InvalidInput(
                f"max_results must be between 1 and {MAX_RESULTS}, got {max_results!r}"
            )
        self._sweep_lost()
        fingerprint = json.dumps(
            [
                [experiments] if isinstance(experiments, str) else list(experiments or []),
                (filter or "").strip(),
                [order_by] if isinstance(order_by, str) else list(order_by or []),
            ]
        )
        offset = _decode_token(page_token, fingerprint) if page_token else 0
        with self.ws.db.read() as conn:
            q, _ = self._query(conn, experiments, filter, order_by)
            ids = list(conn.execute(q.limit(max_results + 1).offset(offset)).scalars())
            more = len(ids) > max_results
            ids = ids[:max_results]
            page = RunPage(self._load(conn, ids))
        page.next_page_token = _encode_token(offset + max_results, fingerprint) if more else None
        if offset > 0:
            page.previous_page_token = _encode_token(max(0, offset - max_results), fingerprint)
        return page

    def count(
        self, experiments: Sequence[str] | str | None = None, filter: str | None = None
    ) -> int:
        with self.ws.db.read() as conn:
            q, _ = self._query(conn, experiments, filter, None)
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(q.order_by(None).subquery())
                ).scalar_one()
            )

    def list(
        self, experiment: str | None = None, status: str | None = None, max_results: int = 100
    ) -> RunPage:
        flt = None
        if status is not None:
            flt = f"attributes.status = '{status}'"
        return self.search([experiment] if experiment else None, flt, None, max_results)

    def children(self, run: Run | str) -> builtins.list[Run]:
        rid = run.id if isinstance(run, Run) else run
        with self.ws.db.read() as conn:
            ids = list(
                conn.execute(
                    sa.select(runs.c.id).where(runs.c.parent_id == rid).order_by(runs.c.id)
                ).scalars()
            )
            return self._load(conn, ids)

    def compare(self, refs: Sequence[Run | str]) -> Comparison:
        """Params that differ between the runs, and each run's metric summaries."""
        if len(refs) < 2:
            raise InvalidInput("compare needs at least two runs")
        loaded = [r if isinstance(r, Run) else self.get(r) for r in refs]
        cmp = Comparison([r.id for r in loaded], {r.id: r.name for r in loaded})
        keys = sorted({k for r in loaded for k in r.params})
        for k in keys:
            values = {r.id: r.params.get(k) for r in loaded}
            texts = {json.dumps(v, sort_keys=True, default=str) for v in values.values()}
            if len(texts) > 1 or any(k not in r.params for r in loaded):
                cmp.params[k] = values
            else:
                cmp.same_params[k] = next(iter(values.values()))
        sums = {r.id: r.metric_summaries() for r in loaded}
        for k in sorted({k for s in sums.values() for k in s}):
            cmp.metrics[k] = {rid: s[k] for rid, s in sums.items() if k in s}
        return cmp

    def keys(
        self, experiment: str | None = None, recent_runs: int | None = None
    ) -> dict[str, builtins.list[str]]:
        """Distinct param, metric and tag keys (of one experiment, or all); with
        *recent_runs*, only of that many most recent runs (bounded cost for tables)."""
        with self.ws.db.read() as conn:
            scope = sa.select(runs.c.id)
            if experiment:
                scope = scope.where(
                    runs.c.experiment_id.in_(self._experiment_ids(conn, [experiment]))
                )
            if recent_runs is not None:
                scope = scope.order_by(runs.c.start_time.desc()).limit(recent_runs)
            limited = experiment is not None or recent_runs is not None
            run_ids = list(conn.execute(scope).scalars()) if limited else None
            out: dict[str, builtins.list[str]] = {}
            for label, table in (
                ("params", run_params),
                ("metrics", metric_series),
                ("tags", run_tags),
            ):
                found: set[str] = set()
                if run_ids is None:
                    found.update(conn.execute(sa.select(table.c.key).distinct()).scalars())
                else:
                    for i in range(0, len(run_ids), 500):
                        chunk = run_ids[i : i + 500]
                        found.update(
                            conn.execute(
                                sa.select(table.c.key).distinct().where(table.c.run_id.in_(chunk))
                            ).scalars()
                        )
                out[label] = sorted(found)
        return out

    def series(
        self, run: Run | str, key: str, max_points: int | None = None, method: str = "minmax"
    ) -> Series:
        """One metric series; with *max_points*, downsampled keeping the extremes
        (``minmax``: min and max of each bucket) or the shape (``lttb``)."""
        rid = run.id if isinstance(run, Run) else run
        if method not in ("minmax", "lttb"):
            raise InvalidInput(f"unknown downsampling method {method!r}; use 'minmax' or 'lttb'")
        if max_points is not None and (not isinstance(max_points, int) or max_points < 3):
            raise InvalidInput(f"max_points must be an integer >= 3, got {max_points!r}")
        with self.ws.db.read() as conn:
            row = conn.execute(
                sa.select(metric_series.c.id).where(
                    metric_series.c.run_id == rid, metric_series.c.key == key
                )
            ).first()
            if row is None:
                exists = conn.execute(sa.select(runs.c.id).where(runs.c.id == rid)).first()
                if exists is None:
                    raise NotFound(f"no run {rid!r} in workspace {self.ws.home}")
                known = list(
                    conn.execute(
                        sa.select(metric_series.c.key).where(metric_series.c.run_id == rid)
                    ).scalars()
                )
                raise NotFound(
                    f"run {rid} has no metric {key!r}; {did_you_mean(known)}",
                    details={"run_id": rid, "key": key},
                )
            chunks = self._read_chunks(conn, int(row.id))
        parts = [unpack(data, n) for n, data in chunks]
        if parts:
            step = np.concatenate([p[0] for p in parts])
            ts = np.concatenate([p[1] for p in parts])
            value = np.concatenate([p[2] for p in parts])
        else:
            step = np.empty(0, np.int64)
            ts = np.empty(0, np.int64)
            value = np.empty(0, np.float64)
        if len(parts) > 1 and np.any(np.diff(step) < 0):  # overlapping chunks
            o = np.argsort(step, kind="stable")
            step, ts, value = step[o], ts[o], value[o]
        n = int(step.size)
        used = None
        if max_points is not None and n > max_points:
            idx = (
                minmax_indices(value, max_points)
                if method == "minmax"
                else lttb_indices(step, value, max_points)
            )
            step, ts, value, used = step[idx], ts[idx], value[idx], method
        return Series(rid, key, step, ts, value, n, used)

    def _read_chunks(self, conn: sa.Connection, series_id: int) -> builtins.list[tuple[int, bytes]]:
        if self.ws.db.backend == "postgresql":
            # Binary results: bytea arrives as raw bytes instead of hex text (half the
            # bytes on the wire, no decoding).
            raw: Any = conn.connection.dbapi_connection
            cur = raw.cursor(binary=True)
            try:
                cur.execute(
                    "SELECT n, data FROM metric_chunks WHERE series_id = %s "
                    "ORDER BY first_step, id",
                    (series_id,),
                )
                return [(int(n), bytes(data)) for n, data in cur.fetchall()]
            finally:
                cur.close()
        rows = conn.execute(
            sa.select(metric_chunks.c.n, metric_chunks.c.data)
            .where(metric_chunks.c.series_id == series_id)
            .order_by(metric_chunks.c.first_step, metric_chunks.c.id)
        ).all()
        return [(int(n), data) for n, data in rows]

    def artifacts(self, run_id: str, prefix: str = "") -> builtins.list[Artifact]:
        q = sa.select(run_artifacts).where(run_artifacts.c.run_id == run_id)
        if prefix:
            p = prefix.strip("/")
            q = q.where(sa.or_(run_artifacts.c.path == p, run_artifacts.c.path.startswith(p + "/")))
        with self.ws.db.read() as conn:
            rows = conn.execute(q.order_by(run_artifacts.c.path)).all()
        return [Artifact(r.path, r.digest, r.size) for r in rows]


class _Row:
    """Attribute access over a dict (for runs built before they are read back)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)
