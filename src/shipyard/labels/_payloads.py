"""Task payloads: one Parquet blob per project, read once and cached in memory.

A task is a row index into this table. The table is content-addressed and immutable,
so a process caches a few decoded tables and serves any row in microseconds.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..core import InvalidInput
from ..store import BlobStore

_CACHE_SIZE = 4


def to_arrow(data: Any) -> pa.Table:
    """A DataFrame (or Arrow table, or list of dicts) as an Arrow table of payloads."""
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data.reset_index(drop=True), preserve_index=False)
    elif isinstance(data, list):
        table = pa.Table.from_pylist(data)
    else:
        raise InvalidInput(
            f"cannot make labeling tasks from {type(data).__name__}: pass a dataset "
            "reference ('reviews@2'), a dataset version, or a pandas DataFrame"
        )
    if table.num_rows == 0:
        raise InvalidInput("cannot create a labeling project from an empty table: it has no rows")
    return table


def write_payloads(blobs: BlobStore, table: pa.Table) -> str:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return blobs.put_bytes(buf.getvalue())


def guess_columns(table: pa.Table, kind: str) -> dict[str, str | None]:
    """Which column holds the text to show / span, and which the image."""
    text = None
    image = None
    for f in table.schema:
        if text is None and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)):
            text = f.name
        if image is None and (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)):
            image = f.name
    if "text" in table.column_names:
        text = "text"
    return {"text_column": text, "image_column": image}


class PayloadCache:
    """A small LRU of decoded payload tables, keyed by digest. Thread-safe."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self._tables: OrderedDict[str, pa.Table] = OrderedDict()
        self._rows: dict[str, dict[str, list[Any]]] = {}
        self._lock = threading.Lock()

    def table(self, digest: str) -> pa.Table:
        with self._lock:
            if digest in self._tables:
                self._tables.move_to_end(digest)
                return self._tables[digest]
        table = pq.read_table(io.BytesIO(self._blobs.get_bytes(digest)))
        with self._lock:
            self._tables[digest] = table
            while len(self._tables) > _CACHE_SIZE:
                old, _ = self._tables.popitem(last=False)
                self._rows.pop(old, None)
        return table

    def columns(self, digest: str) -> dict[str, list[Any]]:
        """Column-wise Python lists (fast per-row access)."""
        t = self.table(digest)
        with self._lock:
            cols = self._rows.get(digest)
        if cols is None:
            cols = {name: t.column(name).to_pylist() for name in t.column_names}
            with self._lock:
                self._rows[digest] = cols
        return cols

    def row(self, digest: str, row: int) -> dict[str, Any]:
        return {k: v[row] for k, v in self.columns(digest).items()}

    def frame(self, digest: str) -> pd.DataFrame:
        return self.table(digest).to_pandas()


def jsonable_payload(payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Payload without binary values (those are served as media), JSON-safe."""
    out: dict[str, Any] = {}
    media: list[str] = []
    for k, v in payload.items():
        if isinstance(v, bytes | bytearray | memoryview):
            media.append(k)
        elif isinstance(v, float) and not np.isfinite(v):
            out[k] = None
        elif isinstance(v, str | int | float | bool) or v is None or isinstance(v, list | dict):
            out[k] = v
        else:
            out[k] = str(v)
    return out, media


def sniff_image_type(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
