"""Dataset tables: datasets (a name, its schema) and their immutable versions."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    # Last version number handed out: incremented inside the commit transaction, so
    # concurrent commits get distinct, gap-free numbers.
    sa.Column("latest_version", sa.Integer, nullable=False, default=0),
    # pandera schema (its JSON form) that commits are validated against.
    sa.Column("schema", JSONType, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", name="uq_datasets_name"),
    info={"count_label": "datasets"},
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("dataset_id", sa.String(26), sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # Digest of the canonical manifest (sorted path, size, digest): the identity of
    # the content, independent of how the manifest is encoded.
    sa.Column("digest", sa.String(71), nullable=False),
    # The manifest itself: a Parquet blob (path, size, digest, media_type).
    sa.Column("manifest_digest", sa.String(71), nullable=False, info={"blob_ref": True}),
    sa.Column("parent_id", sa.String(26), nullable=True),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("split", sa.String(64), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "files" | "table"
    sa.Column("file_count", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=True),
    sa.Column("table_schema", JSONType, nullable=True),  # [{"name", "type"}]
    sa.Column("profile", JSONType, nullable=True),  # TableProfile.to_dict()
    sa.Column("validation", JSONType, nullable=True),  # ValidationReport.to_dict()
    sa.Column("source", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_id"),
    sa.Index("ix_dataset_versions_digest", "digest"),
    info={"count_label": "dataset versions"},
)
