"""Garbage collection of blobs nothing references any more.

A blob is *referenced* when its digest appears

* in any column marked ``info={"blob_ref": True}`` in any table of the schema, or
* in the output of a registered *reference provider*: a function ``(db, blobs) ->
  iterable of digests`` for references that live inside blobs (for example the files
  listed in a dataset version's Parquet manifest). Providers are registered by name,
  as lazy import paths in :data:`REFERENCE_PROVIDERS`, or at runtime with
  :func:`register_reference_provider`.

Safety while other processes write: blobs are listed *before* references are read,
and only blobs older than the grace period are deleted. A writer stores (or, for an
existing blob, touches) its blobs before it commits the metadata that references them,
so any blob a concurrent writer is about to reference is either already referenced
when GC reads references, or recent enough to be spared.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..core import InvalidInput
from ._blobs import BlobInfo, BlobStore
from ._db import Database
from ._schema import load_metadata

ReferenceProvider = Callable[[Database, BlobStore], Iterable[str]]

REFERENCE_PROVIDERS: dict[str, str] = {
    "dataset-files": "shipyard.data._references:manifest_references",
}
"""Name -> ``"module:function"`` of providers loaded when GC runs."""

_runtime_providers: dict[str, ReferenceProvider] = {}

DEFAULT_GRACE_S = 3600.0


def register_reference_provider(name: str, provider: ReferenceProvider) -> None:
    """Add (or replace) a provider of referenced digests for this process."""
    _runtime_providers[name] = provider


def _providers() -> dict[str, ReferenceProvider]:
    out: dict[str, ReferenceProvider] = {}
    for name, path in REFERENCE_PROVIDERS.items():
        module, _, attr = path.partition(":")
        out[name] = getattr(importlib.import_module(module), attr)
    out.update(_runtime_providers)
    return out


def blob_ref_columns() -> list[sa.Column[Any]]:
    """Every column of the schema that holds blob digests."""
    md = load_metadata()
    return [c for t in md.sorted_tables for c in t.columns if c.info.get("blob_ref")]


def referenced_digests(db: Database, blobs: BlobStore) -> set[str]:
    refs: set[str] = set()
    with db.read() as conn:
        for col in blob_ref_columns():
            for (value,) in conn.execute(sa.select(col).where(col.is_not(None)).distinct()):
                if isinstance(value, str) and value.startswith("sha256:"):
                    refs.add(value)
    for provider in _providers().values():
        refs.update(d for d in provider(db, blobs) if isinstance(d, str))
    return refs


@dataclass
class GCReport:
    """What a collection found (and, unless ``dry_run``, deleted)."""

    dry_run: bool
    grace_seconds: float
    scanned: int = 0
    referenced: int = 0
    recent: int = 0
    unreferenced: list[BlobInfo] = field(default_factory=list)
    deleted: int = 0
    freed_bytes: int = 0
    tmp_removed: int = 0

    @property
    def reclaimable_bytes(self) -> int:
        return sum(b.size for b in self.unreferenced)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "grace_seconds": self.grace_seconds,
            "scanned": self.scanned,
            "referenced": self.referenced,
            "recent": self.recent,
            "unreferenced": len(self.unreferenced),
            "reclaimable_bytes": self.reclaimable_bytes,
            "deleted": self.deleted,
            "freed_bytes": self.freed_bytes,
            "tmp_removed": self.tmp_removed,
        }


def collect_garbage(
    db: Database,
    blobs: BlobStore,
    *,
    dry_run: bool = True,
    grace_seconds: float = DEFAULT_GRACE_S,
    now: float | None = None,
) -> GCReport:
    """Find (and unless *dry_run*, delete) blobs that nothing references.

    Blobs modified less than *grace_seconds* ago are kept: a commit in another
    process may be about to reference them.
    """
    if grace_seconds < 0:
        raise InvalidInput(f"the grace period must be >= 0 seconds, got {grace_seconds}")
    now = time.time() if now is None else now
    cutoff = now - grace_seconds
    report = GCReport(dry_run=dry_run, grace_seconds=grace_seconds)
    listed = list(blobs.list())  # before the references: see the module docstring
    refs = referenced_digests(db, blobs)
    report.scanned = len(listed)
    for b in listed:
        if b.digest in refs:
            report.referenced += 1
        elif b.modified is not None and b.modified > cutoff:
            report.recent += 1
        else:
            report.unreferenced.append(b)
    if not dry_run:
        for b in report.unreferenced:
            if blobs.delete(b.digest):
                report.deleted += 1
                report.freed_bytes += b.size
        if blobs.is_local:
            report.tmp_removed = _clean_tmp(os.path.join(blobs.root, "tmp"), cutoff)
    return report


def _clean_tmp(tmpdir: str, cutoff: float) -> int:
    """Remove temp files of interrupted writes older than the cutoff."""
    removed = 0
    try:
        entries = list(os.scandir(tmpdir))
    except FileNotFoundError:
        return 0
    for e in entries:
        try:
            if e.is_file(follow_symlinks=False) and e.stat().st_mtime < cutoff:
                os.unlink(e.path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed
