"""Foundation storage: the metadata DB, the blob store and the lineage graph."""

from ._blobs import BlobInfo, BlobStore
from ._db import Database, metadata, normalize_db_url
from ._lineage import Edge, Graph, HasLineage, Lineage, Node, current_producer, producing
from ._schema import (
    TABLE_MODULES,
    current_revision,
    head_revision,
    head_revisions,
    load_metadata,
    migrate,
)
from ._types import JSONType, UTCDateTime

__all__ = [
    "TABLE_MODULES",
    "BlobInfo",
    "BlobStore",
    "Database",
    "Edge",
    "Graph",
    "HasLineage",
    "JSONType",
    "Lineage",
    "Node",
    "UTCDateTime",
    "current_producer",
    "current_revision",
    "head_revision",
    "head_revisions",
    "load_metadata",
    "metadata",
    "migrate",
    "normalize_db_url",
    "producing",
]
