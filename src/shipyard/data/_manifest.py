"""Manifests: the list of files of a dataset version, stored as a Parquet blob.

Columns: ``path`` (POSIX, relative), ``size`` (bytes), ``digest`` (``sha256:<hex>`` of
the file's blob) and ``media_type``, sorted by path. The version's *digest* is the hash
of the canonical text ``path\\0size\\0digest\\n`` over the sorted rows, so it names the
content, not the encoding of the manifest.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..core._hashing import format_digest

SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("digest", pa.string()),
        ("media_type", pa.string()),
    ]
)


@dataclass(frozen=True)
class FileEntry:
    """One file of a dataset version."""

    path: str
    size: int
    digest: str
    media_type: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "digest": self.digest,
            "media_type": self.media_type,
        }


def content_digest(entries: Sequence[Any]) -> str:
    h = hashlib.sha256()
    for e in entries:
        h.update(f"{e.path}\0{e.size}\0{e.digest}\n".encode())
    return format_digest(h.hexdigest())


def encode(entries: Sequence[Any]) -> tuple[bytes, str]:
    """Sorted Parquet bytes of *entries* and their content digest."""
    rows = sorted(entries, key=lambda e: e.path)
    table = pa.table(
        {
            "path": [e.path for e in rows],
            "size": [e.size for e in rows],
            "digest": [e.digest for e in rows],
            "media_type": [e.media_type for e in rows],
        },
        schema=SCHEMA,
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue(), content_digest(rows)


def decode(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def entries(table: pa.Table) -> list[FileEntry]:
    cols = [table.column(n).to_pylist() for n in ("path", "size", "digest", "media_type")]
    return [FileEntry(p, int(s), d, m) for p, s, d, m in zip(*cols, strict=True)]
