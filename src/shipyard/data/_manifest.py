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
    return _digest_of_table(_table(entries))


def _digest_of_table(table: pa.Table) -> str:
    """SHA-256 of ``path\0size\0digest\n`` for every row, computed column-wise."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return format_digest(hashlib.sha256(b"").hexdigest())
    fields = pc.binary_join_element_wise(
        table.column("path"),
        pc.cast(table.column("size"), pa.string()),
        table.column("digest"),
        "\0",
    )
    lines = pc.binary_join_element_wise(fields, pa.scalar(""), "\n")  # field + "\n" + ""
    h = hashlib.sha256()
    h.update("".join(lines.to_pylist()).encode())
    return format_digest(h.hexdigest())


def _table(entries: Sequence[Any]) -> pa.Table:
    rows = sorted(entries, key=lambda e: e.path)
    return pa.table(
        {
            "path": [e.path for e in rows],
            "size": [e.size for e in rows],
            "digest": [e.digest for e in rows],
            "media_type": [e.media_type for e in rows],
        },
        schema=SCHEMA,
    )


def encode(entries: Sequence[Any]) -> tuple[bytes, str]:
    """Sorted Parquet bytes of *entries* and their content digest."""
    table = _table(entries)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue(), _digest_of_table(table)


def decode(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def entries(table: pa.Table) -> list[FileEntry]:
    cols = [table.column(n).to_pylist() for n in ("path", "size", "digest", "media_type")]
    return [FileEntry(p, int(s), d, m) for p, s, d, m in zip(*cols, strict=True)]
