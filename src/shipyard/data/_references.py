"""Blob references that live inside blobs: the files listed in dataset manifests."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from ..core import NotFound
from ..store import BlobStore, Database
from . import _manifest
from .tables import dataset_versions


def manifest_references(db: Database, blobs: BlobStore) -> Iterator[str]:
    """Every file digest listed in any dataset version's manifest (for ``shipyard gc``)."""
    with db.read() as conn:
        manifests = [
            r[0] for r in conn.execute(sa.select(dataset_versions.c.manifest_digest).distinct())
        ]
    for digest in manifests:
        try:
            table = _manifest.decode(blobs.get_bytes(digest))
        except NotFound:
            continue  # a missing manifest references nothing that still exists
        yield from table.column("digest").to_pylist()
