"""``DatasetVersion``: an immutable, content-addressed snapshot of a dataset."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa

from ..core import InvalidInput, NotFound, did_you_mean
from ..store import Node
from . import _manifest
from ._profile import TableProfile
from ._sources import read_table_files, table_to_arrays, tabular_paths
from ._validation import ValidationReport

if TYPE_CHECKING:  # the service that made this object; no import cycle at runtime
    from ._service import Datasets


@dataclass(frozen=True, eq=False)
class DatasetVersion:
    """One version of a dataset. Reading methods fetch bytes from the blob store lazily."""

    id: str
    dataset_id: str
    name: str
    version: int
    digest: str
    manifest_digest: str
    parent_id: str | None
    message: str
    tags: dict[str, str]
    split_name: str | None
    kind: str
    file_count: int
    size: int
    row_count: int | None
    table_schema: list[dict[str, str]] | None
    profile: dict[str, Any] | None
    validation: dict[str, Any] | None
    source: str
    created_at: datetime
    _svc: Datasets = field(repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatasetVersion) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # ------------------------------------------------------------------ identity
    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def lineage_node(self) -> Node:
        return Node("dataset_version", self.id, self.ref)

    @property
    def is_table(self) -> bool:
        return self.kind == "table"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dataset_id": self.dataset_id,
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "digest": self.digest,
            "manifest_digest": self.manifest_digest,
            "parent_id": self.parent_id,
            "message": self.message,
            "tags": dict(self.tags),
            "split": self.split_name,
            "kind": self.kind,
            "file_count": self.file_count,
            "size": self.size,
            "row_count": self.row_count,
            "schema": self.table_schema,
            "valid": None if self.validation is None else self.validation["valid"],
            "source": self.source,
            "created_at": self.created_at.isoformat(),
        }

    # ------------------------------------------------------------------ files
    def manifest(self) -> pa.Table:
        """The manifest as an Arrow table (path, size, digest, media_type)."""
        if "manifest" not in self._cache:
            data = self._svc.ws.blobs.get_bytes(self.manifest_digest)
            self._cache["manifest"] = _manifest.decode(data)
        return self._cache["manifest"]

    def files(self) -> list[_manifest.FileEntry]:
        """Every file of this version, sorted by path."""
        if "files" not in self._cache:
            self._cache["files"] = _manifest.entries(self.manifest())
        return list(self._cache["files"])

    def file(self, path: str) -> _manifest.FileEntry:
        by_path = self._cache.get("by_path")
        if by_path is None:
            by_path = {f.path: f for f in self.files()}
            self._cache["by_path"] = by_path
        entry = by_path.get(path.lstrip("/"))
        if entry is None:
            raise NotFound(
                f"no file {path!r} in dataset version {self.ref}; " + did_you_mean(list(by_path)),
                details={"ref": self.ref, "path": path},
            )
        return entry

    def open(self, path: str) -> BinaryIO:
        """Open one file of the version for reading (binary)."""
        return self._svc.ws.blobs.open(self.file(path).digest)

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as f:
            return f.read()

    def checkout(self, directory: str | os.PathLike[str], *, link: bool = True) -> Path:
        """Write the files under *directory*; hard links when the blob store is local.

        Hard-linked files are read-only (they are the stored blobs): copy a file before
        editing it.
        """
        dest = Path(directory).expanduser().resolve()
        dest.mkdir(parents=True, exist_ok=True)
        jobs = []
        for f in self.files():
            target = (dest / f.path).resolve()
            if dest not in target.parents:
                raise InvalidInput(f"unsafe path {f.path!r} in {self.ref}")
            jobs.append((f.digest, str(target)))
        self._svc.ws.blobs.get_many(jobs, link=link)
        return dest

    # ------------------------------------------------------------------ tables
    def _require_table(self) -> list[str]:
        paths = tabular_paths([f.path for f in self.files()])
        if not paths:
            raise InvalidInput(
                f"dataset version {self.ref} is not a table (its {self.file_count} files "
                "are not Parquet or one CSV file); read it with files(), open() or checkout()",
                details={"ref": self.ref},
            )
        return paths

    def _local_paths(self, paths: list[str]) -> list[str] | None:
        blobs = self._svc.ws.blobs
        if not blobs.is_local:
            return None
        return [str(blobs.local_path(self.file(p).digest)) for p in paths]

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        """The table (all Parquet files concatenated, or the CSV file)."""
        paths = self._require_table()
        local = self._local_paths(paths)
        if local is not None and all(p.endswith(".parquet") for p in paths):
            import pyarrow.parquet as pq

            tables = [pq.read_table(p, columns=columns) for p in local]
            return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        table = read_table_files(paths, opener=lambda p: self.open(p))
        assert table is not None
        return table.select(columns) if columns else table

    def to_pandas(self, columns: list[str] | None = None) -> Any:
        return self.to_arrow(columns).to_pandas()

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The arrays committed as ``{"X": …, "y": …}``, or every column as an array."""
        table = self.to_arrow()
        arrays = table_to_arrays(table)
        if arrays is not None:
            return arrays
        return {n: table.column(n).to_numpy() for n in table.column_names}

    def to_duckdb(self, connection: Any = None) -> Any:
        """A lazy DuckDB relation over the table (Parquet scanned in place when local)."""
        import duckdb

        con = connection or duckdb.connect()
        paths = self._require_table()
        local = self._local_paths(paths)
        if local is not None and all(p.endswith(".parquet") for p in paths):
            return con.read_parquet(local)
        return con.from_arrow(self.to_arrow())

    def stats(self) -> TableProfile:
        """The column statistics computed at commit (the reference profile)."""
        if self.profile is None:
            raise InvalidInput(
                f"dataset version {self.ref} has no statistics: it is not a table",
                details={"ref": self.ref},
            )
        return TableProfile.from_dict(self.profile)

    @property
    def validation_report(self) -> ValidationReport | None:
        return None if self.validation is None else ValidationReport.from_dict(self.validation)

    # ------------------------------------------------------------------ derived versions
    def split(
        self,
        fractions: Mapping[str, float],
        *,
        key: str | Sequence[str] | None = None,
        seed: int = 0,
        name: str = "{name}-{split}",
    ) -> dict[str, DatasetVersion]:
        """Split the table into derived versions (``churn-train``, ``churn-val``…).

        Rows go to a split by a hash of *key* (or of the whole row), so a row stays in
        the same split when later versions add rows. Each derived version records a
        ``split_from`` lineage edge to this one.
        """
        return self._svc._split(self, fractions, key=key, seed=seed, name_format=name)

    def __repr__(self) -> str:
        return (
            f"DatasetVersion({self.ref}, {self.kind}, files={self.file_count}, "
            f"rows={self.row_count}, digest={self.digest[:19]}…)"
        )
