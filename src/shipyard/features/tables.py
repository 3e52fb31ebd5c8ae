"""Feature store tables: entities, versioned feature views and services, materializations."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

feature_entities = sa.Table(
    "feature_entities",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("join_keys", JSONType, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    info={"count_label": "feature entities"},
)

feature_views = sa.Table(
    "feature_views",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # "batch" | "on_demand"
    sa.Column("spec", JSONType, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("dataset_version_id", sa.String(26), nullable=True),
    sa.Column("function_digest", sa.String(71), nullable=True, info={"blob_ref": True}),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_feature_views_name_version"),
    info={"count_label": "feature view versions"},
)

feature_services = sa.Table(
    "feature_services",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("features", JSONType, nullable=False),  # ["view@v:feature", ...]
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_feature_services_name_version"),
    info={"count_label": "feature service versions"},
)

feature_materializations = sa.Table(
    "feature_materializations",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("view_id", sa.String(26), sa.ForeignKey("feature_views.id"), nullable=False),
    sa.Column("online_store", sa.String(256), nullable=False),
    sa.Column("start", UTCDateTime, nullable=True),  # inclusive; None: from the beginning
    sa.Column("end", UTCDateTime, nullable=False),  # exclusive
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("entities", sa.BigInteger, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_feature_materializations_view_id", "view_id"),
)
