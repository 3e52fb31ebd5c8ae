"""Feature sources: Parquet files (local or any fsspec URL) and dataset versions.

A resolved source is a DuckDB table expression over the Parquet files plus their Arrow
schema. DuckDB scans the files itself (streaming, projection and predicate pushdown);
remote filesystems are handed to DuckDB through fsspec, so no DuckDB extension is needed.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ..core import InvalidInput, NotFound, StorageError
from ..store import Node


@dataclass
class Source:
    text: str  # what the user wrote
    files: list[str]  # paths DuckDB reads (URLs for remote filesystems)
    schema: pa.Schema
    filesystem: Any = None  # an fsspec filesystem to register with DuckDB, or None
    dataset_version_id: str | None = None
    lineage_node: Node | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def files_sql(self) -> str:
        return "[" + ", ".join(_quote(f) for f in self.files) + "]"

    def scan_sql(self) -> str:
        return f"read_parquet({self.files_sql()}, filename = true, file_row_number = true)"

    def plain_scan_sql(self) -> str:
        return f"read_parquet({self.files_sql()})"

    def fingerprint(self) -> tuple[Any, ...] | None:
        """What identifies the current content of the files (None: unknown)."""
        if self.dataset_version_id is not None:
            return ("dataset", self.dataset_version_id)
        out: list[Any] = []
        try:
            if self.filesystem is None:
                for f in self.files:
                    st = os.stat(f)
                    out.append((f, st.st_size, st.st_mtime_ns))
            else:
                for f in self.files:
                    info = self.filesystem.info(f)
                    tag = info.get("ETag") or info.get("LastModified") or info.get("mtime")
                    if tag is None:
                        return None
                    out.append((f, info.get("size"), str(tag)))
        except (OSError, KeyError):
            return None
        return tuple(out)

    def register(self, con: Any) -> None:
        if self.filesystem is not None:
            con.register_filesystem(self.filesystem)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def looks_like_path(text: str) -> bool:
    return (
        "://" in text
        or text.endswith(".parquet")
        or "/" in text
        or os.sep in text
        or any(c in text for c in "*?[")
    )


def resolve_source(text: str, ws: Any, *, where: str) -> Source:
    """Resolve a view's ``source`` to files + schema; raise NotFound/InvalidInput."""
    if looks_like_path(text):
        return _parquet_source(text, ws, where=where)
    return _dataset_source(text, ws, where=where)


def _storage_options(ws: Any, url: str) -> dict[str, Any]:
    s = ws.settings
    if url.startswith("s3://") and s.s3_endpoint_url:
        return {"client_kwargs": {"endpoint_url": s.s3_endpoint_url}}
    return {}


def _parquet_source(text: str, ws: Any, *, where: str) -> Source:
    remote = "://" in text and not text.startswith("file://")
    if not remote:
        path = text.removeprefix("file://")
        path = os.path.expanduser(path)
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True))
        elif any(c in path for c in "*?["):
            files = sorted(glob.glob(path, recursive=True))
        else:
            files = [path] if os.path.isfile(path) else []
        files = [os.path.abspath(f) for f in files]
        fs = None
        open_fs: Any = fsspec.filesystem("file")
    else:
        try:
            open_fs, root = fsspec.core.url_to_fs(text, **_storage_options(ws, text))
        except (ImportError, ValueError) as exc:
            raise InvalidInput(f"{where}: cannot open source {text!r}: {exc}") from None
        protocol = text.split("://", 1)[0]
        try:
            if open_fs.isdir(root):
                found = [p for p in open_fs.find(root) if p.endswith(".parquet")]
            elif any(c in root for c in "*?["):
                found = list(open_fs.glob(root))
            else:
                found = [root] if open_fs.exists(root) else []
        except Exception as exc:
            raise StorageError(f"{where}: cannot list source {text!r}: {exc}") from None
        files = [f"{protocol}://{p}" for p in sorted(found)]
        fs = open_fs
    if not files:
        raise NotFound(
            f"{where}: source {text!r} has no Parquet files; write the feature table "
            "first or fix the path",
            details={"source": text},
        )
    try:
        with open_fs.open(files[0], "rb") as fh:
            schema = pq.read_schema(fh)
    except Exception as exc:
        raise InvalidInput(
            f"{where}: cannot read the Parquet schema of {files[0]!r}: {exc}",
            details={"source": text},
        ) from None
    return Source(text=text, files=files, schema=schema, filesystem=fs)


def _dataset_source(text: str, ws: Any, *, where: str) -> Source:
    datasets = ws.datasets if hasattr(type(ws), "datasets") else None
    if datasets is None:
        raise InvalidInput(
            f"{where}: source {text!r} is neither a Parquet path (…/file.parquet, a folder, "
            "a glob or an fsspec URL) nor usable as a dataset reference in this "
            "installation; pass a Parquet path",
            details={"source": text},
        )
    dv = datasets.get(text)
    entries = [f for f in dv.files() if f.path.endswith(".parquet")]
    if not entries:
        raise InvalidInput(
            f"{where}: dataset version {dv.ref} has no Parquet files to read features from; "
            "commit the feature table as Parquet",
            details={"source": text},
        )
    blobs = ws.blobs
    fs: Any = None
    if blobs.is_local:
        files = [blobs.path(f.digest) for f in entries]
    else:
        protocol = blobs.fs.protocol
        protocol = protocol[0] if isinstance(protocol, list | tuple) else protocol
        files = [f"{protocol}://{blobs.path(f.digest)}" for f in entries]
        fs = blobs.fs
    with blobs.open(entries[0].digest) as fh:
        schema = pq.read_schema(fh)
    return Source(
        text=dv.ref,
        files=files,
        schema=schema,
        filesystem=fs,
        dataset_version_id=dv.id,
        lineage_node=dv.lineage_node,
    )
