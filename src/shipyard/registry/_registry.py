"""``ws.models``: register, resolve, load, alias, promote, archive and delete versions."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core import (
    Conflict,
    InvalidInput,
    NotFound,
    did_you_mean,
    is_id,
    new_id,
    parse_ref,
    utcnow,
    validate_name,
)
from ..store import Node, current_producer
from ..store.tables import lineage_edges, lineage_nodes
from ._aliases import AliasesAndPromotions
from ._datasets import column_stats, resolve_dataset, row_hashes
from ._files import read_model_file
from ._model import (
    ModelVersion,
    Predictor,
    RegisteredModel,
    TrainingData,
)
from ._signature import Signature, jsonable_example
from .flavors import Flavor, detect_flavor, get_flavor
from .tables import (
    model_aliases,
    model_promotions,
    model_version_datasets,
    model_versions,
    registered_models,
)


class GateOutcome(Protocol):
    passed: bool
    checks: list[dict[str, Any]]
    evaluation_id: str | None


class PromotionGate(Protocol):
    """What the registry needs from model evaluation (implemented by ``shipyard.evaluation``)."""

    def check_promotion(
        self, version: ModelVersion, alias: str, *, suite: Any, dataset: Any, target: str | None
    ) -> GateOutcome: ...

    def evaluate(self, ref: Any, dataset: Any, **options: Any) -> Any: ...

    def latest_report(self, version: ModelVersion) -> dict[str, Any] | None: ...

    def forget(self, version: ModelVersion, *, conn: sa.Connection) -> None: ...


_CACHE_SIZE = 16


class ModelRegistry(AliasesAndPromotions):
    """The model registry of a workspace (``ws.models``). Thread-safe.

    Versions are immutable and numbered 1, 2, 3… per model. Model bytes live in the
    blob store; the metadata DB keeps the digest, signature, lineage and aliases.
    """

    def __init__(self, ws: Any, gate: PromotionGate | None = None) -> None:
        self.ws = ws
        self.gate = gate
        self._cache: OrderedDict[str, Predictor] = OrderedDict()
        self._cache_lock = threading.Lock()
        ws.lineage.register_resolver("model", lambda ref: self.get(ref).lineage_node)

    # ================================================================== register
    def register(
        self,
        name: str,
        model: Any = None,
        run: Any = None,
        datasets: Sequence[Any] = (),
        signature: Signature | dict[str, Any] | None = None,
        input_example: Any = None,
        metrics: dict[str, float] | None = None,
        description: str = "",
        tags: dict[str, Any] | None = None,
        parent: Any = None,
        *,
        artifact: str | None = None,
        flavor: str | None = None,
        flavor_options: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """Register a new immutable version of model *name* and return it.

        *model* is a live model object (its flavor is detected), ONNX bytes / a file
        path with ``flavor="onnx"``, or omitted with ``run=`` and ``artifact=`` to load
        the model from that run's artifact. *datasets* (DataFrames or dataset refs) are
        recorded as training data: lineage, statistics and row hashes for leakage
        checks. A signature is inferred from *input_example* unless given.
        """
        validate_name(name, "model")
        metrics = _check_metrics(metrics or {})
        tags = dict(tags or {})
        options = dict(flavor_options or {})
        run_node, run_id = self._run_node(run)
        if model is None:
            if artifact is None or run_id is None:
                raise InvalidInput(
                    f"nothing to register as {name!r}: pass a model object, or run= together "
                    "with artifact= to load it from a run's artifact",
                    details={"model": name},
                )
            model, hint = self._model_from_run(run_id, artifact)
            flavor = flavor or hint
        elif flavor is None and (
            isinstance(model, (bytes, bytearray, str)) or hasattr(model, "__fspath__")
        ):
            if isinstance(model, (bytes, bytearray)):
                raise InvalidInput(
                    "raw bytes need flavor='onnx' (the only byte format registered "
                    "directly); pass the model object for other flavors",
                    details={"model": name},
                )
            model, flavor = read_model_file(model)
        fl: Flavor = get_flavor(flavor) if flavor else detect_flavor(model)
        saved = fl.save(model, options, input_example)
        loaded = fl.load(saved.data, saved.meta)  # proves the bytes load before we keep them
        sig = self._signature(fl, saved.meta, signature, input_example, loaded, name)
        parent_version = self.get(parent) if isinstance(parent, str) else parent
        if parent_version is not None and not isinstance(parent_version, ModelVersion):
            raise InvalidInput(
                f"parent= must be a ModelVersion or a reference like 'base@3', "
                f"not {type(parent).__name__}",
            )
        training = [self._training_data(d, sig, i) for i, d in enumerate(datasets or [])]
        git_commit, git_dirty = _git_state()
        digest = self.ws.blobs.put_bytes(saved.data)
        producer = current_producer()
        now = utcnow()
        version_id = new_id()
        with self.ws.db.write() as conn:
            model_row = self._lock_or_create_model(conn, name, now)
            number = (
                conn.execute(
                    sa.select(sa.func.max(model_versions.c.version)).where(
                        model_versions.c.model_id == model_row.id
                    )
                ).scalar()
                or 0
            ) + 1
            conn.execute(
                model_versions.insert().values(
                    id=version_id,
                    model_id=model_row.id,
                    version=number,
                    flavor=fl.name,
                    flavor_meta=saved.meta,
                    digest=digest,
                    size_bytes=len(saved.data),
                    signature=sig.to_dict() if sig else None,
                    input_example=jsonable_example(input_example),
                    metrics=metrics,
                    description=description,
                    tags=tags,
                    run_id=run_id,
                    parent_id=parent_version.id if parent_version else None,
                    producer=producer.key if producer else None,
                    git_commit=git_commit,
                    git_dirty=git_dirty,
                    status="active",
                    created_at=now,
                )
            )
            conn.execute(
                registered_models.update()
                .where(registered_models.c.id == model_row.id)
                .values(updated_at=now)
            )
            if training:
                conn.execute(
                    model_version_datasets.insert(),
                    [
                        {
                            "version_id": version_id,
                            "position": i,
                            "label": t.label,
                            "dataset_version_id": t.dataset_version_id,
                            "rows": t.rows,
                            "hashed_columns": t.hashed_columns,
                            "stats": t.stats,
                            "row_hashes": t.row_hashes,
                        }
                        for i, (t, _) in enumerate(training)
                    ],
                )
            node = Node("model_version", version_id, f"{name}@{number}")
            self.ws.lineage.created(node, conn=conn)
            edges: list[tuple[Any, Any, str]] = [
                (node, Node("model", model_row.id, name), "version_of")
            ]
            if run_node is not None:
                edges.append((run_node, node, "produced"))
            edges += [(dn, node, "trained_on") for _, dn in training if dn is not None]
            if parent_version is not None:
                edges.append((parent_version.lineage_node, node, "fine_tuned_from"))
            self.ws.lineage.record_many(edges, conn=conn)
        return self.get(version_id)

    def _signature(
        self,
        fl: Flavor,
        meta: dict[str, Any],
        given: Signature | dict[str, Any] | None,
        example: Any,
        loaded: Any,
        name: str,
    ) -> Signature | None:
        if isinstance(given, dict):
            given = Signature.from_dict(given)
        if given is not None and not isinstance(given, Signature):
            raise InvalidInput(
                f"signature= must be a Signature or a dict, not {type(given).__name__}"
            )
        sig = given
        if sig is None and example is not None:
            sig = Signature.infer(example)
        if sig is None:
            declared = fl.default_signature(meta)
            sig = Signature.from_dict(declared) if declared else None
        if example is not None:
            prepared = sig.prepare(example, f"the input example of {name!r}") if sig else example
            try:
                out = loaded.predict(prepared)
            except Exception as exc:
                raise InvalidInput(
                    f"model {name!r} failed on its own input example: "
                    f"{type(exc).__name__}: {str(exc)[:300]}; pass an example the model accepts",
                    details={"model": name},
                ) from None
            if sig is not None and not sig.outputs:
                outs: dict[str, Any] = {"prediction": out}
                if loaded.predict_proba is not None:
                    try:
                        outs["probabilities"] = loaded.predict_proba(prepared)
                    except Exception:
                        pass
                sig = Signature(sig.inputs, Signature.infer(example, outs).outputs)
        return sig

    def _training_data(
        self, data: Any, sig: Signature | None, position: int
    ) -> tuple[TrainingData, Node | None]:
        res = resolve_dataset(self.ws, data, f"training dataset #{position + 1}")
        frame = res.frame
        cols = [str(c) for c in frame.columns]  # whole rows: features, label and ids
        hashes = row_hashes(frame, cols)
        digest = self.ws.blobs.put_bytes(np.sort(hashes).tobytes())
        td = TrainingData(
            res.label, res.dataset_version_id, len(frame), cols, column_stats(frame), digest
        )
        return td, res.node

    def _run_node(self, run: Any) -> tuple[Node | None, str | None]:
        if run is None:
            return None, None
        if hasattr(run, "lineage_node") and hasattr(run, "id"):
            return run.lineage_node, str(run.id)
        if isinstance(run, str):
            runs = getattr(self.ws, "runs", None)
            if runs is not None:
                r = runs.get(run)
                return r.lineage_node, str(r.id)
            return Node("run", run, run), run
        raise InvalidInput(f"run= must be a Run or a run id, not {type(run).__name__}")

    def _model_from_run(self, run_id: str, artifact: str) -> tuple[Any, str | None]:
        runs = getattr(self.ws, "runs", None)
        if runs is None:
            raise InvalidInput(
                "registering from a run artifact needs experiment tracking (ws.runs) in this "
                "workspace; pass the model object instead",
                details={"run": run_id},
            )
        with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
            path = runs.get(run_id).download_artifacts(artifact, tmp)
            return read_model_file(path)

    def _lock_or_create_model(self, conn: sa.Connection, name: str, now: Any) -> Any:
        """The model row, locked for this transaction (created on first use)."""
        q = sa.select(registered_models).where(registered_models.c.name == name).with_for_update()
        row = conn.execute(q).first()
        if row is not None:
            return row
        insert: Any = pg_insert if self.ws.db.backend == "postgresql" else sqlite_insert
        conn.execute(
            insert(registered_models)
            .values(id=new_id(), name=name, description="", tags={}, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return conn.execute(q).one()

    # ================================================================== read
    def list_models(self) -> list[RegisteredModel]:
        """Every registered model with its latest version number and aliases."""
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(registered_models).order_by(registered_models.c.name)
            ).all()
            latest = dict(
                conn.execute(
                    sa.select(model_versions.c.model_id, sa.func.max(model_versions.c.version))
                    .where(model_versions.c.status == "active")
                    .group_by(model_versions.c.model_id)
                ).all()
            )
            alias_rows = conn.execute(
                sa.select(
                    model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version
                ).join(model_versions, model_versions.c.id == model_aliases.c.version_id)
            ).all()
        aliases: dict[str, dict[str, int]] = {}
        for mid, alias, v in alias_rows:
            aliases.setdefault(mid, {})[alias] = v
        return [_registered(r, latest.get(r.id), aliases.get(r.id, {})) for r in rows]

    def get_model(self, name: str) -> RegisteredModel:
        for m in self.list_models():
            if m.name == name or m.id == name:
                return m
        raise NotFound(
            f"no model {name!r} in workspace {self.ws.home}; {did_you_mean(self.names())}",
            details={"model": name},
        )

    def names(self) -> list[str]:
        with self.ws.db.read() as conn:
            return [r[0] for r in conn.execute(sa.select(registered_models.c.name))]

    def versions(self, name: str, *, include_archived: bool = True) -> list[ModelVersion]:
        m = self.get_model(name)
        with self.ws.db.read() as conn:
            q = sa.select(model_versions).where(model_versions.c.model_id == m.id)
            if not include_archived:
                q = q.where(model_versions.c.status == "active")
            rows = conn.execute(q.order_by(model_versions.c.version)).all()
            aliases = self._aliases_by_version(conn, m.id)
        return [_version(r, m.name, aliases.get(r.id, ())) for r in rows]

    def get(self, ref: Any) -> ModelVersion:
        """``"churn"`` (latest active), ``"churn@3"``, ``"churn@champion"``,
        ``"churn@sha256:ab12"``, a version id, or a ModelVersion (re-read)."""
        if isinstance(ref, ModelVersion):
            ref = ref.id
        if not isinstance(ref, str):
            raise InvalidInput(
                f"a model reference is a string like 'churn@3', not {type(ref).__name__}"
            )
        with self.ws.db.read() as conn:
            if is_id(ref):
                row = conn.execute(
                    sa.select(model_versions).where(model_versions.c.id == ref.upper())
                ).first()
                if row is not None:
                    name = conn.execute(
                        sa.select(registered_models.c.name).where(
                            registered_models.c.id == row.model_id
                        )
                    ).scalar_one()
                    return _version(
                        row, name, self._aliases_by_version(conn, row.model_id).get(row.id, ())
                    )
            r = parse_ref(ref, "model")
            m = conn.execute(
                sa.select(registered_models).where(registered_models.c.name == r.name)
            ).first()
            if m is None:
                known = [x[0] for x in conn.execute(sa.select(registered_models.c.name))]
                raise NotFound(
                    f"no model {r.name!r} in workspace {self.ws.home}; {did_you_mean(known)}",
                    details={"ref": ref},
                )
            q = sa.select(model_versions).where(model_versions.c.model_id == m.id)
            if r.version is not None:
                row = conn.execute(q.where(model_versions.c.version == r.version)).first()
                missing = f"model {r.name!r} has no version {r.version}"
            elif r.alias is not None:
                vid = conn.execute(
                    sa.select(model_aliases.c.version_id).where(
                        model_aliases.c.model_id == m.id, model_aliases.c.alias == r.alias
                    )
                ).scalar()
                row = (
                    None
                    if vid is None
                    else conn.execute(q.where(model_versions.c.id == vid)).first()
                )
                missing = f"model {r.name!r} has no alias {r.alias!r}"
            elif r.digest_prefix is not None:
                rows = conn.execute(
                    q.where(model_versions.c.digest.like(f"sha256:{r.digest_prefix}%"))
                ).all()
                if len(rows) > 1:
                    raise InvalidInput(
                        f"digest prefix {r.digest_prefix!r} matches {len(rows)} versions of "
                        f"{r.name!r}; give more hex digits",
                        details={"ref": ref},
                    )
                row = rows[0] if rows else None
                missing = f"no version of {r.name!r} has a digest starting {r.digest_prefix}"
            else:
                row = conn.execute(
                    q.where(model_versions.c.status == "active").order_by(
                        model_versions.c.version.desc()
                    )
                ).first()
                missing = f"model {r.name!r} has no active versions"
            if row is None:
                versions = [
                    str(v)
                    for (v,) in conn.execute(
                        sa.select(model_versions.c.version).where(model_versions.c.model_id == m.id)
                    )
                ]
                aliases = [
                    a
                    for (a,) in conn.execute(
                        sa.select(model_aliases.c.alias).where(model_aliases.c.model_id == m.id)
                    )
                ]
                raise NotFound(
                    f"{missing}; versions: {', '.join(versions) or 'none'}; "
                    f"aliases: {', '.join(sorted(aliases)) or 'none'}",
                    details={"ref": ref},
                )
            return _version(row, m.name, self._aliases_by_version(conn, m.id).get(row.id, ()))

    def _aliases_by_version(self, conn: sa.Connection, model_id: str) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for alias, vid in conn.execute(
            sa.select(model_aliases.c.alias, model_aliases.c.version_id).where(
                model_aliases.c.model_id == model_id
            )
        ):
            out.setdefault(vid, []).append(alias)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def training_data(self, ref: Any) -> list[TrainingData]:
        v = self.get(ref)
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(model_version_datasets)
                .where(model_version_datasets.c.version_id == v.id)
                .order_by(model_version_datasets.c.position)
            ).all()
        return [
            TrainingData(
                r.label,
                r.dataset_version_id,
                int(r.rows),
                list(r.hashed_columns),
                r.stats,
                r.row_hashes,
            )
            for r in rows
        ]

    def training_row_hashes(self, data: TrainingData) -> np.ndarray:
        return np.frombuffer(self.ws.blobs.get_bytes(data.row_hashes), dtype=np.uint64)

    # ================================================================== load
    def load(self, ref: Any, *, threads: int | None = None) -> Predictor:
        """A :class:`Predictor` for the version *ref* names (cached: versions are immutable).

        ``threads`` caps the intra-op threads of runtimes that have them (ONNX Runtime),
        and turns their spin-waiting off: a server running several models or workers on
        a few cores wants 1; None keeps the runtime's default (all cores).
        """
        v = self.get(ref)
        key = v.id if threads is None else f"{v.id}/threads={threads}"
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return Predictor(v, cached._loaded)
        fl = get_flavor(v.flavor)
        meta = v.flavor_meta if threads is None else {**v.flavor_meta, "runtime_threads": threads}
        loaded = fl.load(self.ws.blobs.get_bytes(v.digest, verify=True), meta)
        predictor = Predictor(v, loaded)
        with self._cache_lock:
            self._cache[key] = predictor
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return predictor

    def model_bytes(self, ref: Any) -> bytes:
        """The stored bytes of a version (for export and inspection)."""
        return bytes(self.ws.blobs.get_bytes(self.get(ref).digest, verify=True))

    # ================================================================== evaluation
    def evaluate(self, ref: Any, dataset: Any, **options: Any) -> Any:
        """Evaluate a version on *dataset*; see :func:`shipyard.evaluate`."""
        return self._gate().evaluate(ref, dataset, **options)

    def _gate(self) -> PromotionGate:
        if self.gate is None:
            raise InvalidInput("this registry has no evaluation service attached")
        return self.gate

    # ================================================================== lifecycle
    def archive(self, ref: Any) -> ModelVersion:
        """Hide a version from ``latest`` and from new aliases; refused while in use."""
        v = self.get(ref)
        self._refuse_if_in_use(v, "archive")
        with self.ws.db.write() as conn:
            self._locked_model(conn, v.name)
            self._refuse_if_aliased(conn, v, "archive")
            conn.execute(
                model_versions.update().where(model_versions.c.id == v.id).values(status="archived")
            )
        return self.get(v.id)

    def restore(self, ref: Any) -> ModelVersion:
        v = self.get(ref)
        with self.ws.db.write() as conn:
            conn.execute(
                model_versions.update().where(model_versions.c.id == v.id).values(status="active")
            )
        return self.get(v.id)

    def delete(self, ref: Any) -> None:
        """Delete a version's metadata; refused while an alias or a deployment uses it.

        The model bytes stay in the blob store until ``shipyard gc`` finds them unused.
        """
        v = self.get(ref)
        self._refuse_if_in_use(v, "delete")
        with self.ws.db.write() as conn:
            self._locked_model(conn, v.name)
            self._refuse_if_aliased(conn, v, "delete")
            if self.gate is not None:
                self.gate.forget(v, conn=conn)
            conn.execute(model_promotions.delete().where(model_promotions.c.version_id == v.id))
            conn.execute(
                model_version_datasets.delete().where(model_version_datasets.c.version_id == v.id)
            )
            conn.execute(model_versions.delete().where(model_versions.c.id == v.id))
            key = v.lineage_node.key
            conn.execute(
                lineage_edges.delete().where(
                    sa.or_(lineage_edges.c.src == key, lineage_edges.c.dst == key)
                )
            )
            conn.execute(lineage_nodes.delete().where(lineage_nodes.c.key == key))
        with self._cache_lock:
            self._cache.pop(v.id, None)

    def _refuse_if_aliased(self, conn: sa.Connection, v: ModelVersion, action: str) -> None:
        aliases = sorted(
            a
            for (a,) in conn.execute(
                sa.select(model_aliases.c.alias).where(model_aliases.c.version_id == v.id)
            )
        )
        if aliases:
            raise Conflict(
                f"cannot {action} {v.ref}: alias{'es' if len(aliases) > 1 else ''} "
                f"{', '.join(aliases)} point{'' if len(aliases) > 1 else 's'} at it; move them "
                f"first (ws.models.set_alias({v.name!r}, {aliases[0]!r}, version=…))",
                details={"ref": v.ref, "aliases": aliases},
            )

    def _refuse_if_in_use(self, v: ModelVersion, action: str) -> None:
        down = self.ws.lineage.downstream(v.lineage_node, depth=1)
        deployments = [n.label or n.id for n in down.nodes.values() if n.kind == "deployment"]
        if deployments:
            raise Conflict(
                f"cannot {action} {v.ref}: deployment{'s' if len(deployments) > 1 else ''} "
                f"{', '.join(sorted(deployments))} serve{'' if len(deployments) > 1 else 's'} it; "
                "move or delete the deployment first",
                details={"ref": v.ref, "deployments": deployments},
            )

    # ================================================================== card & compare
    def card(self, ref: Any, format: str = "markdown") -> str:
        """The model card of a version as Markdown (``format="markdown"``) or HTML."""
        from ._card import build_card, render_html, render_markdown

        if format not in ("markdown", "md", "html"):
            raise InvalidInput(f"card format must be 'markdown' or 'html', not {format!r}")
        card = build_card(self, self.get(ref))
        return render_html(card) if format == "html" else render_markdown(card)

    def card_data(self, ref: Any) -> dict[str, Any]:
        from ._card import build_card

        return build_card(self, self.get(ref))

    def latest_report(self, ref: Any) -> dict[str, Any] | None:
        return None if self.gate is None else self.gate.latest_report(self.get(ref))

    def compare(self, a: Any, b: Any) -> dict[str, Any]:
        """Side by side: metrics (registered and evaluated) and facts of two versions."""
        va, vb = self.get(a), self.get(b)
        ra, rb = self.latest_report(va), self.latest_report(vb)
        ma = {**va.metrics, **((ra or {}).get("metrics") or {})}
        mb = {**vb.metrics, **((rb or {}).get("metrics") or {})}
        rows = []
        for key in sorted(set(ma) | set(mb)):
            x, y = ma.get(key), mb.get(key)
            num = isinstance(x, (int, float)) and isinstance(y, (int, float))
            rows.append({"metric": key, "a": x, "b": y, "delta": (y - x) if num else None})  # type: ignore[operator]
        return {
            "a": va.to_dict(),
            "b": vb.to_dict(),
            "metrics": rows,
            "reports": {"a": ra, "b": rb},
        }


# ---------------------------------------------------------------------- helpers
def _registered(r: Any, latest: int | None, aliases: dict[str, int]) -> RegisteredModel:
    return RegisteredModel(
        r.id, r.name, r.description, dict(r.tags or {}), r.created_at, r.updated_at, latest, aliases
    )


def _version(r: Any, name: str, aliases: Iterable[str]) -> ModelVersion:
    return ModelVersion(
        id=r.id,
        model_id=r.model_id,
        name=name,
        version=int(r.version),
        flavor=r.flavor,
        flavor_meta=dict(r.flavor_meta or {}),
        digest=r.digest,
        size_bytes=int(r.size_bytes),
        signature=Signature.from_dict(r.signature) if r.signature else None,
        input_example=r.input_example,
        metrics=dict(r.metrics or {}),
        description=r.description or "",
        tags=dict(r.tags or {}),
        run_id=r.run_id,
        parent_id=r.parent_id,
        producer=r.producer,
        git_commit=r.git_commit,
        git_dirty=r.git_dirty,
        status=r.status,
        created_at=r.created_at,
        aliases=tuple(aliases),
    )


def _check_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in metrics.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"metric {k!r} must be a number, got {v!r}", details={"metric": k}
            ) from None
    return out


def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout around the current directory, if any."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(dirty)


__all__ = ["GateOutcome", "ModelRegistry", "PromotionGate"]
