"""``ws.features``: registration, offline retrieval, materialization and online lookup."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from ..core import InvalidInput, ShipyardError, as_utc, new_id, utcnow
from ..store import Node
from . import _offline
from ._definitions import Definition, FeatureService
from ._online import OnlineStore, default_url, open_online_store
from ._registry import Applied, Registry, ServiceVersion, ViewVersion
from ._retrieval import NOT_FOUND, OUTSIDE_TTL, PRESENT, OnlineFeatures, TrainingSet
from ._source import resolve_source
from .tables import feature_materializations

NO_CREATED_US = -(2**62)
"""Stored created time of rows without a created timestamp (older than any real one)."""

FeaturesArg = str | FeatureService | ServiceVersion | Sequence[Any]


@dataclass
class _BatchPart:
    view: ViewVersion
    features: list[str]
    columns: list[str]  # result column of each feature
    indices: list[int]  # position of each feature in the stored payload
    ttl_us: int | None


@dataclass
class _Plan:
    refs: list[str]
    batch: list[_BatchPart]
    odfvs: list[tuple[ViewVersion, list[str], list[str], dict[str, str]]]
    outputs: list[str]  # visible result columns, in request order
    join_keys: list[str]
    request_fields: list[str]
    service: ServiceVersion | None = None
    expires: float = 0.0
    hidden: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Materialization:
    view: str
    start: datetime | None
    end: datetime
    entities: int
    rows: int
    seconds: float
    skipped: bool = False


def _encode_key(value: Any, kind: str, key: str) -> str:
    if kind == "int":
        if isinstance(value, bool):
            raise InvalidInput(f"join key {key!r} must be an integer, got {value!r}")
        if isinstance(value, int | np.integer):
            return str(int(value))
        try:
            f = float(value)
            if f.is_integer():
                return str(int(f))
        except (TypeError, ValueError):
            pass
        raise InvalidInput(
            f"join key {key!r} must be an integer, got {value!r}",
            details={"join_key": key, "value": str(value)},
        )
    if value is None:
        raise InvalidInput(f"join key {key!r} is missing (None)")
    return str(value)


class FeatureStore:
    """The feature store of a workspace (``ws.features``). Thread-safe."""

    plan_cache_s = 5.0
    """How long online lookups reuse a resolved feature list before re-reading the registry."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.registry = Registry(ws)
        self._online: OnlineStore | None = None
        self._lock = threading.Lock()
        self._plans: dict[Any, _Plan] = {}
        self._unique: dict[Any, bool] = {}
        self._derived: dict[Any, Any] = {}

    # ------------------------------------------------------------- definitions
    def apply(self, definitions: Definition | Iterable[Definition]) -> list[Applied]:
        """Register entities, feature views, on-demand views and services (versioned)."""
        if not isinstance(definitions, Iterable):
            definitions = [definitions]
        result = self.registry.apply(definitions)
        self._plans.clear()
        return result

    def list_views(self) -> list[ViewVersion]:
        return self.registry.views()

    def get_view(self, ref: str) -> ViewVersion:
        return self.registry.view(ref)

    def view_versions(self, name: str) -> list[ViewVersion]:
        return [v for v in self.registry.views(all_versions=True) if v.name == name]

    def list_services(self) -> list[ServiceVersion]:
        return self.registry.services()

    def get_service(self, ref: str) -> ServiceVersion:
        return self.registry.service(ref)

    def entities(self) -> dict[str, list[str]]:
        return self.registry.entities()

    # ------------------------------------------------------------- online store
    @property
    def online_store(self) -> OnlineStore:
        if self._online is None:
            with self._lock:
                if self._online is None:
                    s = self._ws.settings
                    self._online = open_online_store(s.online_store, default_url(s.online_store, s))
        return self._online

    def online_store_info(self) -> dict[str, Any]:
        s = self._ws.settings
        try:
            url = default_url(s.online_store, s)
        except InvalidInput as exc:
            url = f"(not configured: {exc.message})"
        if "@" in url and "://" in url:
            from sqlalchemy.engine import make_url

            try:
                url = make_url(url).render_as_string(hide_password=True)
            except Exception:
                pass
        return {"backend": s.online_store, "url": url}

    def close(self) -> None:
        if self._online is not None:
            self._online.close()
            self._online = None

    # ------------------------------------------------------------- planning
    def _plan(self, features: FeaturesArg, full_feature_names: bool = False) -> _Plan:
        cache_key: Any = None
        if isinstance(features, str):
            cache_key = ("svc", features, full_feature_names)
        elif isinstance(features, list | tuple) and all(isinstance(f, str) for f in features):
            cache_key = ("refs", tuple(features), full_feature_names)
        if cache_key is not None:
            plan = self._plans.get(cache_key)
            if plan is not None and plan.expires > time.monotonic():
                return plan
        plan = self._build_plan(features, full_feature_names)
        if cache_key is not None:
            plan.expires = time.monotonic() + self.plan_cache_s
            self._plans[cache_key] = plan
        return plan

    def _build_plan(self, features: FeaturesArg, full: bool) -> _Plan:
        service: ServiceVersion | None = None
        if isinstance(features, str):
            service = self.registry.service(features)
        elif isinstance(features, FeatureService):
            service = self.registry.service(features.name)
        elif isinstance(features, ServiceVersion):
            service = features
        if service is not None:
            refs = list(service.features)
        else:
            if not isinstance(features, Sequence) or not features:
                raise InvalidInput(
                    "features must be a non-empty list of 'view:feature' references or a "
                    "feature service name"
                )
            refs = self.registry.resolve_feature_refs(list(features), "feature request")
        views: dict[str, ViewVersion] = {}
        wanted: dict[str, list[str]] = {}
        for ref in refs:
            vref, _, feat = ref.partition(":")
            if vref not in views:
                views[vref] = self.registry.view(vref)
            wanted.setdefault(vref, []).append(feat)

        def col(view: ViewVersion, feat: str) -> str:
            return f"{view.name}__{feat}" if full else feat

        outputs: list[str] = []
        for vref, feats in wanted.items():
            outputs += [col(views[vref], f) for f in feats]
        dupes = sorted({o for o in outputs if outputs.count(o) > 1})
        if dupes:
            raise InvalidInput(
                f"features {dupes} come from several views and would share a column; pass "
                "full_feature_names=True to name columns 'view__feature'",
                details={"columns": dupes},
            )
        batch_feats: dict[str, list[str]] = {}
        batch_cols: dict[str, list[str]] = {}
        odfvs: list[tuple[ViewVersion, list[str], list[str], dict[str, str]]] = []
        request_fields: list[str] = []
        hidden: list[str] = []
        for vref, feats in wanted.items():
            view = views[vref]
            if view.kind == "batch":
                batch_feats.setdefault(vref, [])
                batch_cols.setdefault(vref, [])
                for f in feats:
                    if f not in batch_feats[vref]:
                        batch_feats[vref].append(f)
                        batch_cols[vref].append(col(view, f))
        for vref, feats in wanted.items():
            view = views[vref]
            if view.kind != "on_demand":
                continue
            inputs: dict[str, str] = {}
            for inp in view.spec["inputs"]:
                iref = f"{inp['view']}@{inp['version']}"
                if iref not in views:
                    views[iref] = self.registry.view(iref)
                batch_feats.setdefault(iref, [])
                batch_cols.setdefault(iref, [])
                if inp["feature"] in batch_feats[iref]:
                    c = batch_cols[iref][batch_feats[iref].index(inp["feature"])]
                else:
                    c = f"__sy_in__{inp['view']}__{inp['feature']}"
                    batch_feats[iref].append(inp["feature"])
                    batch_cols[iref].append(c)
                    hidden.append(c)
                inputs[inp["feature"]] = c
            for r in view.spec["request"]:
                if r["name"] not in request_fields:
                    request_fields.append(r["name"])
                inputs[r["name"]] = r["name"]
            odfvs.append((view, feats, [col(view, f) for f in feats], inputs))
        batch: list[_BatchPart] = []
        join_keys: list[str] = []
        for vref, feats in batch_feats.items():
            view = views[vref]
            names = view.feature_names
            ttl = view.ttl
            batch.append(
                _BatchPart(
                    view=view,
                    features=feats,
                    columns=batch_cols[vref],
                    indices=[names.index(f) for f in feats],
                    ttl_us=None if ttl is None else int(ttl.total_seconds() * 1_000_000),
                )
            )
            join_keys += [k for k in view.join_keys if k not in join_keys]
        return _Plan(
            refs=refs,
            batch=batch,
            odfvs=odfvs,
            outputs=outputs,
            join_keys=join_keys,
            request_fields=request_fields,
            service=service,
            hidden=hidden,
        )

    def _scan(self, part: _BatchPart, alias: str) -> _offline.ViewScan:
        view = part.view
        src = resolve_source(view.source or "", self._ws, where=f"feature view {view.ref}")
        dtypes = {f.name: f.dtype for f in view.features}
        return _offline.ViewScan(
            alias=alias,
            name=view.ref,
            join_keys=view.join_keys,
            timestamp=view.spec["timestamp"],
            created_timestamp=view.spec.get("created_timestamp"),
            features=[(f, dtypes[f], c) for f, c in zip(part.features, part.columns, strict=True)],
            ttl_us=part.ttl_us,
            source=src,
        )

    def _is_unique(self, scan: _offline.ViewScan) -> bool:
        """Whether no two rows of the source share key and event time (cached per file
        content), so the point-in-time join can skip the tie-breaking pass."""
        fp = scan.source.fingerprint()
        if fp is None:
            return False
        key = (fp, tuple(scan.join_keys), scan.timestamp)
        known = self._unique.get(key)
        if known is None:
            known = not _offline.has_duplicate_times(scan, temp_dir=self._temp_dir())
            if len(self._unique) > 1000:
                self._unique.clear()
            self._unique[key] = known
        return known

    def _cached(
        self, what: str, view_id: str, scan: _offline.ViewScan, compute: Callable[[], Any]
    ) -> Any:
        """*compute()* once per view and source content (statistics, freshness)."""
        fp = scan.source.fingerprint()
        if fp is None:
            return compute()
        key = (what, view_id, fp)
        value = self._derived.get(key)
        if value is None:
            value = compute()
            if len(self._derived) > 1000:
                self._derived.clear()
            self._derived[key] = value
        return value

    def _temp_dir(self) -> str | None:
        if self._ws.settings.db_backend == "sqlite" or self._ws.settings.blob_backend == "file":
            path = self._ws.home / "tmp" / "duckdb"
            path.mkdir(parents=True, exist_ok=True)
            return str(path)
        return None

    # ------------------------------------------------------------- offline
    def get_historical_features(
        self,
        entity_df: Any,
        features: FeaturesArg,
        *,
        timestamp: str = "event_timestamp",
        full_feature_names: bool = False,
    ) -> TrainingSet:
        """Point-in-time correct features for each row of *entity_df*.

        *entity_df*: a pandas DataFrame, an Arrow table, a Parquet path or a dataset
        reference, with the join keys and a *timestamp* column. For each row and view,
        the latest feature row with ``event_time <= timestamp`` is joined, nulls where
        there is none or it is older than the view's TTL. Rows keep their input order.
        """
        plan = self._build_plan(features, full_feature_names)
        table, entity_node = self._entity_table(entity_df)
        entities = _offline.prepare_entities(table, timestamp)
        missing_req = [r for r in plan.request_fields if r not in table.column_names]
        if missing_req:
            raise InvalidInput(
                f"the entity dataframe lacks request field(s) {missing_req} that on-demand "
                "features need; add those columns",
                details={"fields": missing_req},
            )
        scans = [self._scan(p, f"v{i}") for i, p in enumerate(plan.batch)]
        result = _offline.point_in_time_join(
            entities, scans, unique=[self._is_unique(s) for s in scans], temp_dir=self._temp_dir()
        )
        result = self._apply_on_demand(result, plan)
        if plan.hidden:
            result = result.drop_columns(plan.hidden)
        return TrainingSet(
            table=result,
            features=plan.refs,
            views=[p.view.lineage_node for p in plan.batch]
            + [v.lineage_node for v, _, _, _ in plan.odfvs],
            service=None if plan.service is None else plan.service.lineage_node,
            entity_source=entity_node,
            _ws=self._ws,
        )

    def get_features_as_of(
        self,
        time: datetime,
        entities: Any = None,
        *,
        features: FeaturesArg,
        full_feature_names: bool = False,
    ) -> pa.Table:
        """Every entity's latest features as of *time* (inclusive): no entity dataframe.

        With *entities* (rows of join keys, a DataFrame or an Arrow table) only those
        entities are returned, in that order.
        """
        when = as_utc(time)
        plan = self._build_plan(features, full_feature_names)
        if plan.request_fields:
            raise InvalidInput(
                f"on-demand features needing request fields {plan.request_fields} cannot be "
                "computed without request data; use get_historical_features"
            )
        if entities is not None:
            table, _ = self._entity_table(entities)
            ts = pa.array([when] * table.num_rows, pa.timestamp("us", tz="UTC"))
            table = table.append_column("__sy_as_of", ts)
            scans = [self._scan(p, f"v{i}") for i, p in enumerate(plan.batch)]
            prepared = _offline.prepare_entities(table, "__sy_as_of")
            result = _offline.point_in_time_join(
                prepared,
                scans,
                unique=[self._is_unique(s) for s in scans],
                temp_dir=self._temp_dir(),
            )
            result = result.drop_columns(["__sy_as_of"])
        else:
            scans = [self._scan(p, f"v{i}") for i, p in enumerate(plan.batch)]
            result = _offline.as_of(scans, when, temp_dir=self._temp_dir())
        result = self._apply_on_demand(result, plan)
        return result.drop_columns(plan.hidden) if plan.hidden else result

    def _entity_table(self, entity_df: Any) -> tuple[pa.Table, Node | None]:
        if isinstance(entity_df, pa.Table):
            return entity_df, None
        if isinstance(entity_df, str):
            from ._source import looks_like_path

            if looks_like_path(entity_df):
                import pyarrow.parquet as pq

                try:
                    return pq.read_table(entity_df), None
                except (OSError, pa.ArrowInvalid) as exc:
                    raise InvalidInput(
                        f"cannot read the entity table {entity_df!r}: {exc}"
                    ) from None
            dv = self._ws.datasets.get(entity_df)
            return dv.to_arrow(), dv.lineage_node
        if hasattr(entity_df, "to_arrow") and hasattr(entity_df, "lineage_node"):
            return entity_df.to_arrow(), entity_df.lineage_node
        if isinstance(entity_df, list):
            return pa.Table.from_pylist(entity_df), None
        try:
            import pandas as pd

            if isinstance(entity_df, pd.DataFrame):
                return pa.Table.from_pandas(entity_df, preserve_index=False), None
        except ImportError:  # pragma: no cover
            pass
        raise InvalidInput(
            f"cannot use {type(entity_df).__name__} as an entity table; pass a pandas "
            "DataFrame, an Arrow table, a Parquet path or a dataset reference"
        )

    def _apply_on_demand(self, table: pa.Table, plan: _Plan) -> pa.Table:
        for view, feats, cols, inputs in plan.odfvs:
            data = {name: _numpy(table.column(c)) for name, c in inputs.items()}
            out = self._run_function(view, data, table.num_rows)
            names = view.feature_names
            for f, c in zip(feats, cols, strict=True):
                if f not in names:
                    continue
                table = table.append_column(c, pa.array(out[f]))
        return table

    def _run_function(self, view: ViewVersion, data: dict[str, Any], n: int) -> dict[str, Any]:
        fn = self.registry.function(view)
        try:
            out = fn(data)
        except Exception as exc:
            raise InvalidInput(
                f"on-demand feature view {view.ref} failed: {type(exc).__name__}: {exc}"
            ) from exc
        result: dict[str, Any] = {}
        for f in view.features:
            if f.name not in out:
                raise InvalidInput(
                    f"on-demand feature view {view.ref} did not return {f.name!r}; "
                    "its function must return every declared feature"
                )
            arr = np.asarray(out[f.name])
            if arr.shape == ():
                arr = np.full(n, arr)
            result[f.name] = arr
        return result

    # ------------------------------------------------------------- materialization
    def materialize(
        self,
        start: datetime | None,
        end: datetime,
        views: Sequence[str] | None = None,
        *,
        progress: Callable[[str, int], None] | None = None,
        batch_size: int = 50_000,
    ) -> list[Materialization]:
        """Write the latest value per entity with ``start <= event_time < end`` online.

        ``start`` is inclusive (None: from the first row), ``end`` exclusive. Values stream
        from DuckDB in record batches of *batch_size* entities; a stored value is replaced
        only by one that is not older, so overlapping or repeated windows are safe.
        """
        end_u = as_utc(end)
        start_u = None if start is None else as_utc(start)
        if start_u is not None and start_u >= end_u:
            raise InvalidInput(
                f"materialization window is empty: start {start_u.isoformat()} is not before "
                f"end {end_u.isoformat()} (start is inclusive, end exclusive)"
            )
        return [
            self._materialize_view(v, start_u, end_u, progress, batch_size)
            for v in self._online_views(views)
        ]

    def materialize_incremental(
        self,
        end: datetime,
        views: Sequence[str] | None = None,
        *,
        progress: Callable[[str, int], None] | None = None,
        batch_size: int = 50_000,
    ) -> list[Materialization]:
        """Materialize each view from where its last run into this online store ended."""
        end_u = as_utc(end)
        out = []
        for v in self._online_views(views):
            last = self._last_end(v)
            if last is not None and last >= end_u:
                out.append(Materialization(v.ref, last, end_u, 0, 0, 0.0, skipped=True))
                continue
            out.append(self._materialize_view(v, last, end_u, progress, batch_size))
        return out

    def _online_views(self, names: Sequence[str] | None) -> list[ViewVersion]:
        if names:
            views = [self.registry.view(n) for n in names]
            for v in views:
                if v.kind != "batch" or not v.online:
                    raise InvalidInput(
                        f"feature view {v.ref} is not online (online=False or on-demand); "
                        "set online=True to materialize it"
                    )
            return views
        return [v for v in self.registry.views() if v.kind == "batch" and v.online]

    def _store_label(self) -> str:
        info = self.online_store_info()
        return f"{info['backend']}:{info['url']}"[:256]

    def _last_end(self, view: ViewVersion) -> datetime | None:
        with self._ws.db.read() as conn:
            value = conn.execute(
                sa.select(sa.func.max(feature_materializations.c.end)).where(
                    feature_materializations.c.view_id == view.id,
                    feature_materializations.c.online_store == self._store_label(),
                )
            ).scalar()
        return None if value is None else as_utc(value)

    def materializations(self, view: str) -> list[dict[str, Any]]:
        v = self.registry.view(view)
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(feature_materializations)
                .where(feature_materializations.c.view_id == v.id)
                .order_by(feature_materializations.c.created_at.desc())
            ).all()
        return [dict(r._mapping) for r in rows]

    def _materialize_view(
        self,
        view: ViewVersion,
        start: datetime | None,
        end: datetime,
        progress: Callable[[str, int], None] | None,
        batch_size: int,
    ) -> Materialization:
        t0 = time.perf_counter()
        names = view.feature_names
        part = _BatchPart(view, names, names, list(range(len(names))), None)
        scan = self._scan(part, "v0")
        store = self.online_store
        keys = view.join_keys
        kinds = view.spec.get("key_types", {})
        written = 0
        history = int(view.spec.get("history", 1))
        for records in self._records(scan, start, end, history, keys, kinds, batch_size):
            store.write(view.id, records)
            written += len(records)
            if progress is not None:
                progress(view.ref, written)
        seconds = time.perf_counter() - t0
        with self._ws.db.write() as conn:
            conn.execute(
                feature_materializations.insert().values(
                    id=new_id(),
                    view_id=view.id,
                    online_store=self._store_label(),
                    start=start,
                    end=end,
                    rows=written,
                    entities=written,
                    seconds=seconds,
                    created_at=utcnow(),
                )
            )
        return Materialization(view.ref, start, end, written, written, seconds)

    def _records(
        self,
        scan: _offline.ViewScan,
        start: datetime | None,
        end: datetime,
        history: int,
        keys: list[str],
        kinds: Mapping[str, str],
        batch_size: int,
    ) -> Iterable[list[Any]]:
        """Online store records, one batch at a time.

        Payload: the feature values in view order (a JSON list); for views that keep a
        history, ``{"v": latest values, "h": [[event_us, values], ...]}`` newest first.
        """
        dumps = orjson.dumps
        n_feats = len(scan.features)
        temp_dir = self._temp_dir()
        if history <= 1:
            for batch in _offline.latest_batches(
                scan, start, end, batch_size=batch_size, temp_dir=temp_dir
            ):
                key_strings = _key_column(batch, keys, kinds)
                events = batch.column(len(keys)).to_pylist()
                created = pc.fill_null(batch.column(len(keys) + 1), NO_CREATED_US).to_pylist()
                cols = [batch.column(len(keys) + 2 + i).to_pylist() for i in range(n_feats)]
                payloads = [dumps(list(row)) for row in zip(*cols, strict=True)]
                yield list(zip(key_strings, events, created, payloads, strict=True))
            return
        names = [scan.alias + "__" + src for src, _, _ in scan.features]
        for batch in _offline.history_batches(
            scan, start, end, history, batch_size=batch_size, temp_dir=temp_dir
        ):
            key_strings = _key_column(batch, keys, kinds)
            records = []
            for key, entries in zip(key_strings, batch.column(len(keys)).to_pylist(), strict=True):
                h = [[e["__ts_us"], [e[n] for n in names]] for e in entries]
                created_us = entries[0]["__created_us"]
                records.append(
                    (
                        key,
                        h[0][0],
                        NO_CREATED_US if created_us is None else created_us,
                        dumps({"v": h[0][1], "h": h}),
                    )
                )
            yield records

    def get_online_history(
        self, view: str, entity_rows: Sequence[Mapping[str, Any]], *, limit: int | None = None
    ) -> list[list[dict[str, Any]]]:
        """The last values per entity of a view with ``history > 1``, newest first.

        Each entry is ``{"event_time": datetime, feature: value, ...}``; an entity
        without materialized values gets an empty list. Values older than the TTL are
        left out.
        """
        v = self.registry.view(view)
        if int(v.spec.get("history", 1)) <= 1:
            raise InvalidInput(
                f"feature view {v.ref} keeps no history online; define it with history=N "
                "(N > 1) and materialize it"
            )
        kinds = v.spec.get("key_types", {})
        keys = [
            "\x1f".join(
                _encode_key(_need_key(row, k, v), kinds.get(k, "string"), k) for k in v.join_keys
            )
            for row in entity_rows
        ]
        found = self.online_store.read([(v.id, k) for k in keys])
        ttl = v.ttl
        ttl_us = None if ttl is None else int(ttl.total_seconds() * 1_000_000)
        now_us = time.time_ns() // 1000
        names = v.feature_names
        out: list[list[dict[str, Any]]] = []
        for k in keys:
            hit = found.get((v.id, k))
            entries: list[dict[str, Any]] = []
            if hit is not None:
                payload = orjson.loads(hit[1])
                for ts_us, values in payload["h"] if isinstance(payload, dict) else []:
                    if ttl_us is not None and now_us - ts_us > ttl_us:
                        continue
                    when = datetime.fromtimestamp(ts_us / 1_000_000, UTC)
                    entries.append({"event_time": when, **dict(zip(names, values, strict=True))})
            out.append(entries[:limit] if limit else entries)
        return out

    # ------------------------------------------------------------- online
    def get_online_features(
        self,
        features: FeaturesArg,
        entity_rows: Sequence[Mapping[str, Any]],
        *,
        full_feature_names: bool = False,
    ) -> OnlineFeatures:
        """Latest materialized values for each entity row, with a status per feature.

        One round trip to the online store per call, whatever the number of entities
        and views. Statuses: ``present``, ``not_found``, ``outside_ttl``.
        """
        plan = self._plan(features, full_feature_names)
        n = len(entity_rows)
        requests: list[tuple[str, str]] = []
        for part in plan.batch:
            kinds = part.view.spec.get("key_types", {})
            jk = part.view.join_keys
            vid = part.view.id
            for row in entity_rows:
                try:
                    if len(jk) == 1:
                        k = jk[0]
                        key = _encode_key(row[k], kinds.get(k, "string"), k)
                    else:
                        key = "\x1f".join(
                            _encode_key(row[k], kinds.get(k, "string"), k) for k in jk
                        )
                except KeyError as exc:
                    raise InvalidInput(
                        f"entity row {dict(row)!r} lacks join key {exc.args[0]!r} of feature "
                        f"view {part.view.ref}",
                        details={"join_key": exc.args[0]},
                    ) from None
                requests.append((vid, key))
        found = self.online_store.read(requests) if requests else {}
        now_us = time.time_ns() // 1000
        values: list[dict[str, Any]] = [{} for _ in range(n)]
        status: list[dict[str, str]] = [{} for _ in range(n)]
        i = 0
        loads = orjson.loads
        for part in plan.batch:
            cols, idx, ttl = part.columns, part.indices, part.ttl_us
            for r in range(n):
                hit = found.get(requests[i])
                i += 1
                vrow, srow = values[r], status[r]
                if hit is None:
                    for c in cols:
                        vrow[c] = None
                        srow[c] = NOT_FOUND
                elif ttl is not None and now_us - hit[0] > ttl:
                    for c in cols:
                        vrow[c] = None
                        srow[c] = OUTSIDE_TTL
                else:
                    payload = loads(hit[1])
                    if type(payload) is dict:
                        payload = payload["v"]
                    for c, j in zip(cols, idx, strict=True):
                        vrow[c] = payload[j]
                        srow[c] = PRESENT
        if plan.odfvs:
            self._online_on_demand(plan, entity_rows, values, status)
        out_values = values
        if plan.hidden:
            hidden = set(plan.hidden)
            out_values = [{k: v for k, v in row.items() if k not in hidden} for row in values]
            status = [{k: v for k, v in row.items() if k not in hidden} for row in status]
        entities = [{k: row.get(k) for k in plan.join_keys} for row in entity_rows]
        return OnlineFeatures(plan.outputs, entities, out_values, status)

    def _online_on_demand(
        self,
        plan: _Plan,
        entity_rows: Sequence[Mapping[str, Any]],
        values: list[dict[str, Any]],
        status: list[dict[str, str]],
    ) -> None:
        n = len(entity_rows)
        for view, feats, cols, inputs in plan.odfvs:
            data: dict[str, Any] = {}
            for name, c in inputs.items():
                if name in plan.request_fields and c == name and c not in values[0]:
                    missing = [r for r in entity_rows if name not in r]
                    if missing:
                        raise InvalidInput(
                            f"on-demand feature view {view.ref} needs request field {name!r}; "
                            "add it to each entity row"
                        )
                    data[name] = np.asarray([r[name] for r in entity_rows], dtype=float)
                else:
                    data[name] = np.asarray(
                        [np.nan if v[c] is None else v[c] for v in values], dtype=float
                    )
            out = self._run_function(view, data, n)
            input_cols = [c for c in inputs.values() if c in status[0]]
            for f, c in zip(feats, cols, strict=True):
                arr = out[f]
                for r in range(n):
                    bad = [status[r][ic] for ic in input_cols if status[r][ic] != PRESENT]
                    v = arr[r].item() if hasattr(arr[r], "item") else arr[r]
                    if bad:
                        values[r][c] = None
                        status[r][c] = bad[0]
                    else:
                        values[r][c] = None if isinstance(v, float) and np.isnan(v) else v
                        status[r][c] = PRESENT

    # ------------------------------------------------------------- statistics
    def statistics(self, view: str) -> dict[str, Any]:
        """Column profiles of a view's features (the datasets profiling machinery)."""
        v = self.registry.view(view)
        if v.kind != "batch":
            raise InvalidInput(f"{v.ref} is an on-demand view: it has no stored values")
        names = v.feature_names
        part = _BatchPart(v, names, names, list(range(len(names))), None)
        scan = self._scan(part, "v0")

        def compute() -> dict[str, Any]:
            from ..data import profile_table

            table = _offline.read_columns(scan, temp_dir=self._temp_dir())
            out = dict(profile_table(table).to_dict())
            out["columns"] = list(out["columns"].values())
            out["view"] = v.ref
            return out

        return dict(self._cached("statistics", v.id, scan, compute))

    def freshness(self, view: str | None = None) -> list[dict[str, Any]]:
        """Age of the newest value per view (source and online store); for monitoring."""
        views = [self.registry.view(view)] if view else self.registry.views()
        now = utcnow()
        out = []
        for v in views:
            if v.kind != "batch":
                continue
            names = v.feature_names
            part = _BatchPart(v, names, names, list(range(len(names))), None)
            last = self._last_end(v) if v.online else None
            try:
                scan = self._scan(part, "v0")
                info = self._cached(
                    "freshness",
                    v.id,
                    scan,
                    functools.partial(_offline.freshness, scan, temp_dir=self._temp_dir()),
                )
            except ShipyardError as exc:
                if view:
                    raise
                # one unreadable source must not hide the others (monitoring, UI)
                out.append(
                    {
                        "view": v.ref,
                        "view_id": v.id,
                        "error": exc.message,
                        "rows": None,
                        "entities": None,
                        "newest_event": None,
                        "oldest_event": None,
                        "age_s": None,
                        "stale": True,
                        "materialized_until": last,
                        "online": v.online,
                    }
                )
                continue
            newest = info["newest_event"]
            ttl = v.ttl
            out.append(
                {
                    "view": v.ref,
                    "view_id": v.id,
                    **info,
                    "age_s": None if newest is None else (now - newest).total_seconds(),
                    "stale": bool(ttl is not None and newest is not None and now - newest > ttl),
                    "materialized_until": last,
                    "online": v.online,
                }
            )
        return out

    # ------------------------------------------------------------- consumers
    def record_consumer(self, service: str, consumer: Any) -> None:
        """Record that *consumer* (a model version, deployment…) uses a feature service."""
        svc = self.registry.service(service)
        self._ws.lineage.record(svc, consumer, "consumed_by")

    def consumers(self, view: str) -> list[Node]:
        """Models and deployments downstream of a view (through its services)."""
        v = self.registry.view(view)
        graph = self._ws.lineage.downstream(v, depth=4)
        return [
            n
            for n in graph.nodes.values()
            if n.kind not in ("feature_view", "feature_service") and n.key != graph.root
        ]


def _numpy(col: pa.ChunkedArray) -> Any:
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        return col.to_numpy(zero_copy_only=False).astype(float)
    return np.asarray(col.to_pylist(), dtype=object)


def _need_key(row: Mapping[str, Any], key: str, view: ViewVersion) -> Any:
    try:
        return row[key]
    except KeyError:
        raise InvalidInput(
            f"entity row {dict(row)!r} lacks join key {key!r} of feature view {view.ref}",
            details={"join_key": key},
        ) from None


def _key_column(batch: pa.RecordBatch, keys: list[str], kinds: Mapping[str, str]) -> list[str]:
    parts = [pc.cast(batch.column(i), pa.string()) for i in range(len(keys))]
    if len(parts) == 1:
        return [str(k) for k in parts[0].to_pylist()]
    joined = pc.binary_join_element_wise(*parts, "\x1f")
    return [str(k) for k in joined.to_pylist()]
