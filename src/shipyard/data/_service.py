"""``ws.datasets``: commit, read, compare, validate and derive dataset versions.

A commit stores every file once in the blob store (bytes first), then writes the
version row in one short transaction. Killing a commit midway therefore leaves at most
orphan blobs (``shipyard gc`` reclaims them) and never a visible half-version. Version
numbers come from a counter on the dataset row, incremented in that transaction under
a row lock, so concurrent commits get distinct, gap-free numbers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..core import (
    InvalidInput,
    InvalidReference,
    NotFound,
    did_you_mean,
    is_id,
    new_id,
    parse_ref,
    utcnow,
    validate_name,
)
from ..store import Node
from . import _manifest
from ._diff import DatasetDiff, diff_versions
from ._hashcache import HashCache
from ._ingest import ProgressFn, StoredFile, store_local_files, store_remote_files
from ._profile import profile_table
from ._sources import read_table_files, resolve
from ._validation import (
    SchemaViolation,
    ValidationReport,
    schema_from_json,
    schema_to_json,
    validate_frame,
)
from ._version import DatasetVersion
from .tables import dataset_versions as V
from .tables import datasets as D


@dataclass(frozen=True)
class Dataset:
    """A named dataset: its versions are ``name@1``, ``name@2``…"""

    id: str
    name: str
    description: str
    latest_version: int
    has_schema: bool
    created_at: datetime
    updated_at: datetime

    @property
    def lineage_node(self) -> Node:
        return Node("dataset", self.id, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "latest_version": self.latest_version,
            "has_schema": self.has_schema,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class Datasets:
    """The dataset service of a workspace (``ws.datasets``). Thread-safe."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._cache_path = os.path.join(ws.home, "cache", "hashes.db")
        ws.lineage.register_resolver("dataset_version", lambda ref: self.get(ref).lineage_node)

    # ================================================================== commit
    def commit(
        self,
        name: str,
        source: Any,
        message: str = "",
        tags: Mapping[str, Any] | None = None,
        split: str | None = None,
        *,
        allow_empty: bool = False,
        allow_invalid: bool = False,
        storage_options: Mapping[str, Any] | None = None,
        progress: ProgressFn | None = None,
        derived_from: list[tuple[DatasetVersion, str]] | None = None,
    ) -> DatasetVersion:
        """Commit *source* as the next version of dataset *name*.

        *source*: a file, folder or glob; an fsspec URL; a pandas/polars DataFrame, a
        pyarrow Table, or numpy arrays (``{"X": …, "y": …}``). Tables are stored as
        Parquet with their schema, row count and statistics. If the dataset has a
        schema, the table is validated first: invalid data raises
        :class:`SchemaViolation` unless *allow_invalid* (the report is then stored).
        Identical content returns the latest version unchanged unless *allow_empty*.
        *split* labels the version as one split ("train", "test"…).
        """
        validate_name(name, "dataset")
        tag_map = _tags(tags)
        if split is not None:
            validate_name(split, "split")
        options = dict(storage_options or {})
        tmpdir = tempfile.mkdtemp(prefix="shipyard-commit-")
        try:
            resolved = resolve(source, self._source_options(source, options), tmpdir)
            table = resolved.table
            if table is None and resolved.fs is None:
                table = (
                    read_table_files([f.path for f in resolved.files])
                    if _tabular(resolved.files)
                    else None
                )
            report = self._validate_for_commit(name, table, allow_invalid)
            profile = profile_table(table).to_dict() if table is not None else None
            if resolved.fs is not None:
                stored = store_remote_files(self.ws.blobs, resolved.fs, resolved.files, progress)
            else:
                # files written from memory live in a temp folder: nothing to remember
                cache = HashCache(None if resolved.table is not None else self._cache_path)
                try:
                    stored = store_local_files(self.ws.blobs, resolved.files, cache, progress)
                finally:
                    cache.close()
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        return self._record(
            name,
            stored,
            message=message,
            tags=tag_map,
            split=split,
            table=table,
            profile=profile,
            report=report,
            source=resolved.description,
            allow_empty=allow_empty,
            derived_from=derived_from or [],
        )

    def _source_options(self, source: Any, options: dict[str, Any]) -> dict[str, Any]:
        """For a URL on the blob store's own backend, default to its credentials/endpoint."""
        if options or not isinstance(source, str) or "://" not in source:
            return options
        if source.split("://", 1)[0] == self.ws.settings.blob_backend:
            opts = dict(self.ws.settings.blob_options)
            endpoint = self.ws.settings.s3_endpoint_url
            if endpoint and source.startswith("s3://"):
                ck = dict(opts.get("client_kwargs") or {})
                ck.setdefault("endpoint_url", endpoint)
                opts["client_kwargs"] = ck
            return opts
        return options

    def _validate_for_commit(
        self, name: str, table: Any, allow_invalid: bool
    ) -> ValidationReport | None:
        schema = self._schema_json(name)
        if schema is None:
            return None
        if table is None:
            raise InvalidInput(
                f"dataset {name!r} has a schema, so its versions must be tables (a "
                "DataFrame, an Arrow table, Parquet or CSV files); remove the schema with "
                f"ws.datasets.set_schema({name!r}, None) to commit other files",
                details={"dataset": name},
            )
        report = validate_frame(table.to_pandas(), schema_from_json(schema))
        if not report.valid and not allow_invalid:
            raise SchemaViolation(
                f"data for dataset {name!r} breaks its schema; nothing was committed. "
                f"{report.summary()}\nFix the data, change the schema, or commit with "
                "allow_invalid=True to keep the report with the version",
                report,
            )
        return report

    def _record(
        self,
        name: str,
        stored: list[StoredFile],
        *,
        message: str,
        tags: dict[str, str],
        split: str | None,
        table: Any,
        profile: dict[str, Any] | None,
        report: ValidationReport | None,
        source: str,
        allow_empty: bool,
        derived_from: list[tuple[DatasetVersion, str]],
    ) -> DatasetVersion:
        data, digest = _manifest.encode(stored)
        manifest_digest = self.ws.blobs.put_bytes(data)
        now = utcnow()
        table_schema = (
            [{"name": f.name, "type": str(f.type)} for f in table.schema]
            if table is not None
            else None
        )
        with self.ws.db.write() as conn:
            ds = self._lock_dataset(conn, name, now)
            latest = conn.execute(
                sa.select(V).where(V.c.dataset_id == ds.id, V.c.version == ds.latest_version)
            ).first()
            if latest is not None and latest.digest == digest and not allow_empty:
                return self._version(latest, name)
            number = ds.latest_version + 1
            conn.execute(
                D.update().where(D.c.id == ds.id).values(latest_version=number, updated_at=now)
            )
            row = {
                "id": new_id(),
                "dataset_id": ds.id,
                "version": number,
                "digest": digest,
                "manifest_digest": manifest_digest,
                "parent_id": latest.id if latest is not None else None,
                "message": message or "",
                "tags": tags,
                "split": split,
                "kind": "table" if table is not None else "files",
                "file_count": len(stored),
                "size": sum(f.size for f in stored),
                "row_count": table.num_rows if table is not None else None,
                "table_schema": table_schema,
                "profile": profile,
                "validation": report.to_dict() if report is not None else None,
                "source": source[:2000],
                "created_at": now,
            }
            conn.execute(V.insert(), row)
            version = self._version(None, name, row)
            self.ws.lineage.created(version.lineage_node, conn=conn)
            edges: list[tuple[Any, Any, str]] = [
                (Node("dataset", ds.id, name), version.lineage_node, "version")
            ]
            edges += [(src.lineage_node, version.lineage_node, rel) for src, rel in derived_from]
            self.ws.lineage.record_many(edges, conn=conn)
        return version

    def _insert(self, table: sa.Table) -> Any:
        return (
            postgresql.insert(table) if self.ws.db.backend == "postgresql" else sqlite.insert(table)
        )

    def _lock_dataset(self, conn: sa.Connection, name: str, now: datetime) -> Any:
        """The dataset row, created if needed, locked for the rest of the transaction."""
        conn.execute(
            self._insert(D)
            .values(
                id=new_id(),
                name=name,
                description="",
                latest_version=0,
                schema=None,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return conn.execute(sa.select(D).where(D.c.name == name).with_for_update()).one()

    # ================================================================== reading
    def _version(self, row: Any, name: str, values: dict[str, Any] | None = None) -> DatasetVersion:
        r = values if values is not None else row._mapping
        return DatasetVersion(
            id=r["id"],
            dataset_id=r["dataset_id"],
            name=name,
            version=int(r["version"]),
            digest=r["digest"],
            manifest_digest=r["manifest_digest"],
            parent_id=r["parent_id"],
            message=r["message"],
            tags=dict(r["tags"] or {}),
            split_name=r["split"],
            kind=r["kind"],
            file_count=int(r["file_count"]),
            size=int(r["size"]),
            row_count=None if r["row_count"] is None else int(r["row_count"]),
            table_schema=r["table_schema"],
            profile=r["profile"],
            validation=r["validation"],
            source=r["source"],
            created_at=r["created_at"],
            _svc=self,
        )

    def _names(self, conn: sa.Connection) -> list[str]:
        return [r[0] for r in conn.execute(sa.select(D.c.name))]

    def _dataset_row(self, conn: sa.Connection, name: str) -> Any:
        row = conn.execute(sa.select(D).where(D.c.name == name)).first()
        if row is None:
            raise NotFound(
                f"no dataset {name!r} in workspace {self.ws.home}; "
                + did_you_mean(self._names(conn)),
                details={"name": name},
            )
        return row

    def get(self, ref: str) -> DatasetVersion:
        """A version by reference: ``name``, ``name@3``, ``name@sha256:ab12`` or an id."""
        if isinstance(ref, DatasetVersion):
            return ref
        text = ref.strip() if isinstance(ref, str) else ref
        with self.ws.db.read() as conn:
            if isinstance(text, str) and "@" not in text and is_id(text):
                row = conn.execute(
                    sa.select(V, D.c.name.label("ds_name"))
                    .join(D, D.c.id == V.c.dataset_id)
                    .where(V.c.id == text.upper())
                ).first()
                if row is not None:
                    return self._version(row, row.ds_name)
            r = parse_ref(text, "dataset")
            ds = self._dataset_row(conn, r.name)
            q = sa.select(V).where(V.c.dataset_id == ds.id)
            if r.alias is not None:
                raise InvalidReference(
                    f"datasets have no aliases: {ref!r}; use {r.name}@<version> "
                    f"(1..{ds.latest_version}) or {r.name}@sha256:<digest prefix>",
                    details={"ref": ref},
                )
            if r.version is not None:
                row = conn.execute(q.where(V.c.version == r.version)).first()
                if row is None:
                    raise NotFound(
                        f"dataset {r.name!r} has no version {r.version}; "
                        + (
                            f"its versions are 1..{ds.latest_version}"
                            if ds.latest_version
                            else "it has no versions yet"
                        ),
                        details={"ref": ref},
                    )
                return self._version(row, r.name)
            if r.digest_prefix is not None:
                rows = conn.execute(
                    q.where(V.c.digest.like(f"sha256:{r.digest_prefix}%")).order_by(
                        V.c.version.desc()
                    )
                ).all()
                if not rows:
                    raise NotFound(
                        f"no version of dataset {r.name!r} has a digest starting with "
                        f"sha256:{r.digest_prefix}",
                        details={"ref": ref},
                    )
                if len({x.digest for x in rows}) > 1:
                    raise InvalidReference(
                        f"digest prefix in {ref!r} matches several versions "
                        f"({', '.join(str(x.version) for x in rows)}); give more digits",
                        details={"ref": ref},
                    )
                return self._version(rows[0], r.name)
            row = conn.execute(q.where(V.c.version == ds.latest_version)).first()
            if row is None:
                raise NotFound(
                    f"dataset {r.name!r} has no versions yet; commit one with "
                    f"ws.datasets.commit({r.name!r}, source)",
                    details={"ref": ref},
                )
            return self._version(row, r.name)

    def log(self, name: str, limit: int | None = None, offset: int = 0) -> list[DatasetVersion]:
        """The versions of a dataset, newest first (*limit* of them after *offset*)."""
        validate_name(name, "dataset")
        _check_page(limit, offset)
        with self.ws.db.read() as conn:
            ds = self._dataset_row(conn, name)
            q = sa.select(V).where(V.c.dataset_id == ds.id).order_by(V.c.version.desc())
            if limit is not None:
                q = q.limit(limit)
            if offset:
                q = q.offset(offset)
            return [self._version(r, name) for r in conn.execute(q)]

    def list(self, limit: int | None = None, offset: int = 0) -> list[Dataset]:
        """Every dataset, by name (*limit* of them after *offset*)."""
        _check_page(limit, offset)
        q = sa.select(D).order_by(D.c.name)
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        with self.ws.db.read() as conn:
            rows = conn.execute(q).all()
        return [_dataset(r) for r in rows]

    def count(self) -> int:
        """How many datasets the workspace holds."""
        with self.ws.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(D)).scalar_one())

    def dataset(self, name: str) -> Dataset:
        with self.ws.db.read() as conn:
            return _dataset(self._dataset_row(conn, name))

    def diff(self, a: str | DatasetVersion, b: str | DatasetVersion) -> DatasetDiff:
        """Files added / removed / modified; for tables schema, row and statistic shifts."""
        return diff_versions(self.get(a), self.get(b))  # type: ignore[arg-type]

    # ================================================================== schema
    def set_schema(self, name: str, schema: Any) -> None:
        """Attach a pandera schema to dataset *name* (created if new); None removes it."""
        validate_name(name, "dataset")
        stored = None if schema is None else schema_to_json(schema, name)
        now = utcnow()
        with self.ws.db.write() as conn:
            self._lock_dataset(conn, name, now)
            conn.execute(D.update().where(D.c.name == name).values(schema=stored, updated_at=now))

    def _schema_json(self, name: str) -> dict[str, Any] | None:
        with self.ws.db.read() as conn:
            row = conn.execute(sa.select(D.c.schema).where(D.c.name == name)).first()
        return None if row is None else row[0]

    def get_schema(self, name: str) -> Any:
        """The pandera schema of dataset *name*, or None."""
        with self.ws.db.read() as conn:
            row = self._dataset_row(conn, name)
        return None if row.schema is None else schema_from_json(row.schema)

    def validate(self, ref: str | DatasetVersion, schema: Any = None) -> ValidationReport:
        """Validate a stored version against *schema* or its dataset's current schema."""
        v = self.get(ref)  # type: ignore[arg-type]
        if schema is None:
            stored = self._schema_json(v.name)
            if stored is None:
                raise InvalidInput(
                    f"dataset {v.name!r} has no schema to validate against; attach one "
                    f"with ws.datasets.set_schema({v.name!r}, schema) or pass schema=",
                    details={"dataset": v.name},
                )
            schema_obj = schema_from_json(stored)
        else:
            schema_obj = schema_from_json(schema_to_json(schema, v.name))
        return validate_frame(v.to_pandas(), schema_obj)

    # ================================================================== derived
    def _split(
        self,
        v: DatasetVersion,
        fractions: Mapping[str, float],
        *,
        key: str | Sequence[str] | None,
        seed: int,
        name_format: str,
    ) -> dict[str, DatasetVersion]:
        from ._split import assign_splits

        table = v.to_arrow()
        labels = assign_splits(table, fractions, key=key, seed=seed, ref=v.ref)
        import pyarrow.compute as pc

        out: dict[str, DatasetVersion] = {}
        keys = [key] if isinstance(key, str) else list(key or [])
        for i, split_name in enumerate(fractions):
            part = table.filter(pc.equal(labels, i))
            out[split_name] = self.commit(
                name_format.format(name=v.name, split=split_name),
                part,
                message=f"{split_name} split of {v.ref}",
                tags={
                    "split_of": v.ref,
                    "fraction": str(fractions[split_name]),
                    "key": ",".join(keys),
                    "seed": str(seed),
                },
                split=split_name,
                derived_from=[(v, "split_from")],
            )
        return out

    def augment(
        self,
        ref: str | DatasetVersion,
        transform: Any,
        copies: int = 3,
        *,
        name: str | None = None,
        column: str | None = None,
        image_shape: tuple[int, ...] | None = None,
        seed: int = 0,
        message: str = "",
    ) -> DatasetVersion:
        """Commit an augmented version: the source plus *copies* transformed copies.

        Files: image files (PNG, JPEG…) and text files get transformed copies named
        ``<stem>.aug<k><suffix>``. Tables: *column* holds text, or with *image_shape*
        the pixel columns ``<column>_0…`` (as committed from ``{"images": array}``) or
        a column of flat pixel lists; rows gain an ``augmented`` column (0 = original).
        The new version is committed to *name* (default: the source's name) with an
        ``augmented_from`` lineage edge.
        """
        from ._augment_commit import augment_version

        v = self.get(ref)  # type: ignore[arg-type]
        return augment_version(
            self,
            v,
            transform,
            copies=copies,
            name=name or v.name,
            column=column,
            image_shape=image_shape,
            seed=seed,
            message=message,
        )


def _check_page(limit: int | None, offset: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise InvalidInput(f"limit must be a positive integer, got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be 0 or more, got {offset!r}")


def _dataset(r: Any) -> Dataset:
    return Dataset(
        r.id,
        r.name,
        r.description,
        int(r.latest_version),
        r.schema is not None,
        r.created_at,
        r.updated_at,
    )


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInput("tags must be a mapping of names to values, e.g. {'team': 'growth'}")
    out = {}
    for k, v in tags.items():
        if not isinstance(k, str) or not k or len(k) > 128:
            raise InvalidInput(f"invalid tag name {k!r}: use 1-128 characters")
        out[k] = str(v)
    return out


def _tabular(files: list[Any]) -> bool:
    from ._sources import tabular_paths

    return bool(tabular_paths([f.rel for f in files]))
