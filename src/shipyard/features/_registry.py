"""The feature registry: versioned entities, feature views and feature services.

``apply`` validates each definition against its source, then registers it: an unchanged
definition is a no-op, a compatible change creates the next version, and an
incompatible one (other join keys, a feature whose type changes, removing a feature a
service still uses) is refused with the reason and the way out.
"""

from __future__ import annotations

import importlib.machinery
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import cloudpickle
import pyarrow as pa
import sqlalchemy as sa

from ..core import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    did_you_mean,
    new_id,
    parse_ref,
    stable_hash,
    utcnow,
)
from ..store import Node
from ._definitions import (
    Definition,
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)
from ._source import Source, resolve_source
from .tables import feature_entities, feature_services, feature_views


@dataclass
class ViewVersion:
    """A registered version of a feature view (batch or on-demand)."""

    id: str
    name: str
    version: int
    kind: str
    spec: dict[str, Any]
    digest: str
    source: str | None
    dataset_version_id: str | None
    function_digest: str | None
    created_at: datetime
    _function: Any = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def lineage_node(self) -> Node:
        return Node("feature_view", self.id, self.ref)

    @property
    def features(self) -> list[Feature]:
        return [
            Feature(f["name"], f["dtype"], f.get("description", "")) for f in self.spec["features"]
        ]

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.spec["features"]]

    @property
    def join_keys(self) -> list[str]:
        return list(self.spec.get("join_keys", []))

    @property
    def entities(self) -> list[str]:
        return list(self.spec.get("entities", []))

    @property
    def ttl(self) -> timedelta | None:
        s = self.spec.get("ttl_s")
        return None if s is None else timedelta(seconds=s)

    @property
    def online(self) -> bool:
        return bool(self.spec.get("online", False))

    @property
    def timestamp(self) -> str:
        return str(self.spec.get("timestamp", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "kind": self.kind,
            "source": self.source,
            "dataset_version_id": self.dataset_version_id,
            "created_at": self.created_at.isoformat(),
            **self.spec,
        }


@dataclass
class ServiceVersion:
    """A registered version of a feature service: the exact feature refs a model uses."""

    id: str
    name: str
    version: int
    features: list[str]  # "view@v:feature"
    digest: str
    description: str
    tags: dict[str, str]
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def lineage_node(self) -> Node:
        return Node("feature_service", self.id, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "features": self.features,
            "description": self.description,
            "tags": self.tags,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Applied:
    kind: str  # "entity" | "feature_view" | "on_demand_feature_view" | "feature_service"
    name: str
    version: int | None
    status: str  # "created" | "updated" | "unchanged"

    def __str__(self) -> str:
        v = f"@{self.version}" if self.version else ""
        return f"{self.kind} {self.name}{v}: {self.status}"


def _arrow_kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_dictionary(t):
        return _arrow_kind(t.value_type)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "timestamp"
    return str(t)


_ACCEPTS = {
    "int32": {"int"},
    "int64": {"int"},
    "float32": {"float", "int"},
    "float64": {"float", "int"},
    "string": {"string"},
    "bool": {"bool"},
    "timestamp": {"timestamp"},
}


def _row_view(r: Any) -> ViewVersion:
    return ViewVersion(
        id=r.id,
        name=r.name,
        version=r.version,
        kind=r.kind,
        spec=dict(r.spec),
        digest=r.digest,
        source=r.source,
        dataset_version_id=r.dataset_version_id,
        function_digest=r.function_digest,
        created_at=r.created_at,
    )


def _row_service(r: Any) -> ServiceVersion:
    return ServiceVersion(
        id=r.id,
        name=r.name,
        version=r.version,
        features=list(r.features),
        digest=r.digest,
        description=r.description,
        tags=dict(r.tags or {}),
        created_at=r.created_at,
    )


class Registry:
    """Reads and writes the registry tables (one short transaction per call)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._functions: dict[str, Any] = {}

    # ------------------------------------------------------------------ reading
    def entities(self) -> dict[str, list[str]]:
        with self._ws.db.read() as conn:
            rows = conn.execute(sa.select(feature_entities)).all()
        return {r.name: list(r.join_keys) for r in rows}

    def views(self, *, all_versions: bool = False) -> list[ViewVersion]:
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(feature_views).order_by(feature_views.c.name, feature_views.c.version)
            ).all()
        out = [_row_view(r) for r in rows]
        if all_versions:
            return out
        latest: dict[str, ViewVersion] = {}
        for v in out:
            latest[v.name] = v
        return list(latest.values())

    def view(self, ref: str) -> ViewVersion:
        """A view version by ``name``, ``name@3`` or id."""
        with self._ws.db.read() as conn:
            row = conn.execute(sa.select(feature_views).where(feature_views.c.id == ref)).first()
            if row is None:
                r = parse_ref(ref, "feature view")
                q = sa.select(feature_views).where(feature_views.c.name == r.name)
                if r.version is not None:
                    q = q.where(feature_views.c.version == r.version)
                elif not r.is_latest:
                    raise InvalidInput(
                        f"feature view reference {ref!r}: use a name, name@<version> or an id"
                    )
                row = conn.execute(q.order_by(feature_views.c.version.desc())).first()
            if row is None:
                names = conn.execute(sa.select(feature_views.c.name).distinct()).scalars().all()
                raise NotFound(
                    f"no feature view {ref!r} in this workspace; {did_you_mean(list(names))}",
                    details={"ref": ref},
                )
        return _row_view(row)

    def services(self, *, all_versions: bool = False) -> list[ServiceVersion]:
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(feature_services).order_by(
                    feature_services.c.name, feature_services.c.version
                )
            ).all()
        out = [_row_service(r) for r in rows]
        if all_versions:
            return out
        latest: dict[str, ServiceVersion] = {}
        for s in out:
            latest[s.name] = s
        return list(latest.values())

    def service(self, ref: str) -> ServiceVersion:
        with self._ws.db.read() as conn:
            row = conn.execute(
                sa.select(feature_services).where(feature_services.c.id == ref)
            ).first()
            if row is None:
                r = parse_ref(ref, "feature service")
                q = sa.select(feature_services).where(feature_services.c.name == r.name)
                if r.version is not None:
                    q = q.where(feature_services.c.version == r.version)
                row = conn.execute(q.order_by(feature_services.c.version.desc())).first()
            if row is None:
                names = conn.execute(sa.select(feature_services.c.name).distinct()).scalars().all()
                raise NotFound(
                    f"no feature service {ref!r} in this workspace; {did_you_mean(list(names))}",
                    details={"ref": ref},
                )
        return _row_service(row)

    def function(self, view: ViewVersion) -> Any:
        """The callable of an on-demand view (cached; loaded from the blob store)."""
        fn = self._functions.get(view.id)
        if fn is None:
            if not view.function_digest:
                raise NotFound(f"on-demand feature view {view.ref} has no stored function")
            try:
                fn = cloudpickle.loads(self._ws.blobs.get_bytes(view.function_digest))
            except (ImportError, AttributeError) as exc:
                raise ConfigurationError(
                    f"the function of on-demand feature view {view.ref} cannot be loaded in "
                    f"this process ({type(exc).__name__}: {exc}); it refers to code that is "
                    "not importable here: install that module, or apply the view again from "
                    "code that defines the function",
                    details={"view": view.ref},
                ) from None
            self._functions[view.id] = fn
        return fn

    # ------------------------------------------------------------------ applying
    def apply(self, definitions: Iterable[Definition]) -> list[Applied]:
        defs = list(definitions)
        for d in defs:
            if not isinstance(d, Entity | FeatureView | OnDemandFeatureView | FeatureService):
                raise InvalidInput(
                    f"cannot apply {type(d).__name__}: pass Entity, FeatureView, "
                    "OnDemandFeatureView or FeatureService objects"
                )
        names: dict[tuple[str, str], int] = {}
        for d in defs:
            key = (type(d).__name__, d.name)
            names[key] = names.get(key, 0) + 1
            if names[key] > 1:
                raise InvalidInput(f"{type(d).__name__} {d.name!r} appears twice in one apply")
        entities = [d for d in defs if isinstance(d, Entity)]
        views = [d for d in defs if isinstance(d, FeatureView)]
        odfvs = [d for d in defs if isinstance(d, OnDemandFeatureView)]
        services = [d for d in defs if isinstance(d, FeatureService)]
        # Validate everything first, so a bad definition leaves nothing half-applied.
        known_entities = self.entities()
        for e in entities:
            old = known_entities.get(e.name)
            if old is not None and old != list(e.join_keys):
                raise Conflict(
                    f"entity {e.name!r} already has join keys {old}; changing them to "
                    f"{list(e.join_keys)} would break every view of it; define a new entity",
                    details={"entity": e.name},
                )
            known_entities[e.name] = list(e.join_keys)
        view_plans = [self._plan_view(v, known_entities) for v in views]
        planned_names = {v.name for v in views}
        odfv_plans = [self._plan_odfv(o, planned_names) for o in odfvs]
        results: list[Applied] = []
        new_views: dict[str, tuple[Any, ...]] = {}
        with self._ws.db.write() as conn:
            for e in entities:
                exists = conn.execute(
                    sa.select(feature_entities.c.id).where(feature_entities.c.name == e.name)
                ).first()
                if exists is None:
                    conn.execute(
                        feature_entities.insert().values(
                            id=new_id(),
                            name=e.name,
                            join_keys=list(e.join_keys),
                            description=e.description,
                            created_at=utcnow(),
                        )
                    )
                results.append(
                    Applied("entity", e.name, None, "unchanged" if exists else "created")
                )
            for plan in [*view_plans, *odfv_plans]:
                applied, row = self._write_view(conn, plan)
                results.append(applied)
                new_views[plan["name"]] = row
        # Lineage after the registry write; it is idempotent.
        for plan in [*view_plans, *odfv_plans]:
            row = new_views[plan["name"]]
            if row is None:
                continue
            view = self.view(row[0])
            self._ws.lineage.created(view)
            src: Source | None = plan.get("resolved")
            if src is not None and src.lineage_node is not None:
                self._ws.lineage.record(src.lineage_node, view, "source_of")
            for vref in plan.get("input_views", []):
                self._ws.lineage.record(self.view(vref), view, "input_to")
        for s in services:
            results.append(self._apply_service(s))
        return results

    def _plan_view(self, v: FeatureView, entities: dict[str, list[str]]) -> dict[str, Any]:
        where = f"feature view {v.name!r}"
        entity_names: list[str] = []
        join_keys: list[str] = []
        for e in v.entities:
            name = e.name if isinstance(e, Entity) else str(e)
            if name not in entities:
                raise NotFound(
                    f"{where} uses entity {name!r}, which is not registered; apply "
                    f"Entity({name!r}, join_keys=[...]) with it ({did_you_mean(list(entities))})",
                    details={"entity": name},
                )
            entity_names.append(name)
            join_keys += [k for k in entities[name] if k not in join_keys]
        src = resolve_source(v.source, self._ws, where=where)
        columns = {f.name: f.type for f in src.schema}

        def need(col: str, role: str) -> pa.DataType:
            if col not in columns:
                raise InvalidInput(
                    f"{where}: its source {v.source!r} has no column {col!r} ({role}); "
                    f"columns: {', '.join(columns)}",
                    details={"view": v.name, "column": col, "source": v.source},
                )
            return columns[col]

        key_types: dict[str, str] = {}
        for k in join_keys:
            kind = _arrow_kind(need(k, "join key"))
            if kind not in ("int", "string"):
                raise InvalidInput(
                    f"{where}: join key {k!r} is {columns[k]} in the source; join keys must "
                    "be integers or strings",
                    details={"view": v.name, "column": k},
                )
            key_types[k] = kind
        for col, role in ((v.timestamp, "timestamp"), (v.created_timestamp, "created timestamp")):
            if col and _arrow_kind(need(col, role)) != "timestamp":
                raise InvalidInput(
                    f"{where}: the {role} column {col!r} is {columns[col]}, not a timestamp; "
                    "store it as a Parquet timestamp",
                    details={"view": v.name, "column": col},
                )
        for f in v.feature_list:
            kind = _arrow_kind(need(f.name, "feature"))
            if kind not in _ACCEPTS[f.dtype]:
                raise InvalidInput(
                    f"{where}: feature {f.name!r} is declared {f.dtype} but the source column "
                    f"is {columns[f.name]}; declare Feature({f.name!r}, "
                    f"{_suggest(kind)!r}) or cast the column in the source",
                    details={"view": v.name, "feature": f.name, "declared": f.dtype},
                )
        spec = {
            "entities": entity_names,
            "join_keys": join_keys,
            "key_types": key_types,
            "timestamp": v.timestamp,
            "created_timestamp": v.created_timestamp,
            "features": [f.to_dict() for f in v.feature_list],
            "ttl_s": None if v.ttl is None else v.ttl.total_seconds(),
            "online": v.online,
            "tags": dict(v.tags),
            "description": v.description,
        }
        if v.history > 1:
            spec["history"] = v.history
        return {
            "name": v.name,
            "kind": "batch",
            "spec": spec,
            "source": src.text,
            "resolved": src,
            "dataset_version_id": src.dataset_version_id,
            "function": None,
        }

    def _plan_odfv(self, o: OnDemandFeatureView, planned: set[str]) -> dict[str, Any]:
        where = f"on-demand feature view {o.name!r}"
        inputs: list[dict[str, str]] = []
        input_views: list[str] = []
        for ref in o.inputs:
            view_name, sep, feat = ref.partition(":")
            if not sep or not feat:
                raise InvalidInput(f"{where}: input {ref!r} must be 'view:feature'")
            if view_name.split("@")[0] in planned:
                raise InvalidInput(
                    f"{where}: apply feature view {view_name!r} before the on-demand view "
                    "that reads it (two apply calls)"
                )
            view = self.view(view_name)
            if feat not in view.feature_names:
                raise NotFound(
                    f"{where}: feature view {view.ref} has no feature {feat!r}; "
                    f"{did_you_mean(view.feature_names)}"
                )
            inputs.append({"view": view.name, "version": str(view.version), "feature": feat})
            input_views.append(view.id)
        request_names = [f.name for f in o.request_list]
        spec = {
            "inputs": inputs,
            "request": [f.to_dict() for f in o.request_list],
            "features": [f.to_dict() for f in o.feature_list],
            "code": o.source_code,
            "tags": dict(o.tags),
            "description": o.description,
        }
        clash = set(request_names) & set(o.feature_names)
        if clash:
            raise InvalidInput(f"{where}: {sorted(clash)} are both request fields and outputs")
        return {
            "name": o.name,
            "kind": "on_demand",
            "spec": spec,
            "source": None,
            "dataset_version_id": None,
            "function": o.function,
            "input_views": input_views,
        }

    def _write_view(self, conn: sa.Connection, plan: dict[str, Any]) -> tuple[Applied, Any]:
        name = plan["name"]
        kind_label = "feature_view" if plan["kind"] == "batch" else "on_demand_feature_view"
        fn_bytes = None if plan["function"] is None else _dump_function(plan["function"])
        digest_spec = {k: v for k, v in plan["spec"].items() if k != "code"}
        digest = stable_hash(
            json.dumps(digest_spec, sort_keys=True, default=str),
            plan["source"] or "",
            plan["spec"].get("code", ""),
        )
        latest = conn.execute(
            sa.select(feature_views)
            .where(feature_views.c.name == name)
            .order_by(feature_views.c.version.desc())
        ).first()
        if latest is not None and latest.kind != plan["kind"]:
            raise Conflict(f"{name!r} is already a {latest.kind} feature view; choose another name")
        if latest is not None and latest.digest == digest:
            self._functions.setdefault(latest.id, plan["function"])
            return Applied(kind_label, name, latest.version, "unchanged"), None
        if latest is not None:
            self._check_compatible(conn, _row_view(latest), plan)
        fn_digest = None
        if fn_bytes is not None:
            fn_digest = self._ws.blobs.put_bytes(fn_bytes)
        vid = new_id()
        version = 1 if latest is None else latest.version + 1
        conn.execute(
            feature_views.insert().values(
                id=vid,
                name=name,
                version=version,
                kind=plan["kind"],
                spec=plan["spec"],
                digest=digest,
                source=plan["source"],
                dataset_version_id=plan["dataset_version_id"],
                function_digest=fn_digest,
                created_at=utcnow(),
            )
        )
        if plan["function"] is not None:
            self._functions[vid] = plan["function"]
        return Applied(kind_label, name, version, "created" if latest is None else "updated"), (
            vid,
        )

    def _check_compatible(
        self, conn: sa.Connection, old: ViewVersion, plan: dict[str, Any]
    ) -> None:
        spec = plan["spec"]
        name = plan["name"]
        if plan["kind"] == "batch" and old.join_keys != spec["join_keys"]:
            raise Conflict(
                f"feature view {name!r}: changing its join keys from {old.join_keys} to "
                f"{spec['join_keys']} is incompatible with the stored versions and online "
                "values; register the new definition under a new view name",
                details={"view": name},
            )
        new_types = {f["name"]: f["dtype"] for f in spec["features"]}
        for f in old.spec["features"]:
            nt = new_types.get(f["name"])
            if nt is not None and nt != f["dtype"]:
                raise Conflict(
                    f"feature view {name!r}: feature {f['name']!r} changes type from "
                    f"{f['dtype']} to {nt}, which is incompatible (models trained on it would "
                    "get other values); add it under a new feature name instead",
                    details={"view": name, "feature": f["name"]},
                )
        removed = set(old.feature_names) - set(new_types)
        if removed:
            used: list[str] = []
            rows = conn.execute(sa.select(feature_services)).all()
            latest_services: dict[str, Any] = {}
            for r in sorted(rows, key=lambda r: r.version):
                latest_services[r.name] = r
            for r in latest_services.values():
                for ref in r.features:
                    vref, _, feat = ref.partition(":")
                    if vref.split("@")[0] == name and feat in removed:
                        used.append(f"{r.name} uses {feat}")
            if used:
                raise Conflict(
                    f"feature view {name!r}: removing {sorted(removed)} is incompatible with "
                    f"feature services that still use them ({'; '.join(sorted(used))}); "
                    "update those services first",
                    details={"view": name, "removed": sorted(removed)},
                )

    def resolve_feature_refs(
        self, items: Sequence[FeatureView | OnDemandFeatureView | str], where: str
    ) -> list[str]:
        """Expand items to ``view@v:feature`` strings pinned to current versions."""
        out: list[str] = []
        for item in items:
            if isinstance(item, FeatureView | OnDemandFeatureView):
                view = self.view(item.name)
                out += [f"{view.ref}:{f}" for f in view.feature_names]
                continue
            text = str(item)
            vref, sep, feat = text.partition(":")
            view = self.view(vref)
            if not sep:
                out += [f"{view.ref}:{f}" for f in view.feature_names]
                continue
            if feat == "*":
                out += [f"{view.ref}:{f}" for f in view.feature_names]
                continue
            if feat not in view.feature_names:
                raise NotFound(
                    f"{where}: feature view {view.ref} has no feature {feat!r}; "
                    f"{did_you_mean(view.feature_names)}",
                    details={"feature": text},
                )
            out.append(f"{view.ref}:{feat}")
        return list(dict.fromkeys(out))

    def _apply_service(self, s: FeatureService) -> Applied:
        refs = self.resolve_feature_refs(s.features, f"feature service {s.name!r}")
        digest = stable_hash(json.dumps(refs), s.description, json.dumps(s.tags, sort_keys=True))
        with self._ws.db.write() as conn:
            latest = conn.execute(
                sa.select(feature_services)
                .where(feature_services.c.name == s.name)
                .order_by(feature_services.c.version.desc())
            ).first()
            if latest is not None and latest.digest == digest:
                return Applied("feature_service", s.name, latest.version, "unchanged")
            version = 1 if latest is None else latest.version + 1
            sid = new_id()
            conn.execute(
                feature_services.insert().values(
                    id=sid,
                    name=s.name,
                    version=version,
                    features=refs,
                    digest=digest,
                    description=s.description,
                    tags=dict(s.tags),
                    created_at=utcnow(),
                )
            )
        svc = self.service(sid)
        self._ws.lineage.created(svc)
        view_refs = sorted({r.split(":", 1)[0] for r in refs})
        self._ws.lineage.record_many([(self.view(v), svc, "member_of") for v in view_refs])
        return Applied(
            "feature_service", s.name, version, "created" if latest is None else "updated"
        )


def _suggest(kind: str) -> str:
    return {"int": "int64", "float": "float64", "string": "string", "bool": "bool"}.get(
        kind, "timestamp"
    )


def _dump_function(fn: Any) -> bytes:
    """*fn* pickled so that another process can load it: by value when its module is
    not importable by name there (a script loaded from a path, a notebook cell)."""
    name = getattr(fn, "__module__", None) or ""
    module = sys.modules.get(name)
    top = name.split(".")[0]
    importable = (
        not name
        or name == "__main__"  # cloudpickle already pickles __main__ by value
        or top in sys.builtin_module_names
        or importlib.machinery.PathFinder.find_spec(top) is not None
    )
    if importable or module is None:
        return bytes(cloudpickle.dumps(fn))
    cloudpickle.register_pickle_by_value(module)
    try:
        return bytes(cloudpickle.dumps(fn))
    finally:
        cloudpickle.unregister_pickle_by_value(module)
