"""Registry tables: registered models, immutable versions, aliases with history, promotions."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    info={"count_label": "registered models"},
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("model_id", sa.String(26), sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("flavor", sa.String(32), nullable=False),
    sa.Column("flavor_meta", JSONType, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False, info={"blob_ref": True}),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("signature", JSONType, nullable=True),
    sa.Column("input_example", JSONType, nullable=True),
    sa.Column("metrics", JSONType, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("run_id", sa.String(80), nullable=True),
    sa.Column("parent_id", sa.String(26), nullable=True),
    sa.Column("producer", sa.String(128), nullable=True),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("git_dirty", sa.Boolean, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    sa.Index("ix_model_versions_digest", "digest"),
    info={"count_label": "model versions"},
)

model_version_datasets = sa.Table(
    "model_version_datasets",
    metadata,
    sa.Column("version_id", sa.String(26), sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("label", sa.String(256), nullable=False),
    sa.Column("dataset_version_id", sa.String(80), nullable=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("hashed_columns", JSONType, nullable=False),
    sa.Column("stats", JSONType, nullable=False),
    sa.Column("row_hashes", sa.String(71), nullable=False, info={"blob_ref": True}),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", sa.String(26), sa.ForeignKey("registered_models.id"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version_id", sa.String(26), sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_model_aliases_version_id", "version_id"),
)

model_alias_history = sa.Table(
    "model_alias_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.String(26), sa.ForeignKey("registered_models.id"), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("moved_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint(
        "model_id", "alias", "seq", name="uq_model_alias_history_model_id_alias_seq"
    ),
)

model_promotions = sa.Table(
    "model_promotions",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("version_id", sa.String(26), sa.ForeignKey("model_versions.id"), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("forced", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("checks", JSONType, nullable=False),
    sa.Column("evaluation_id", sa.String(26), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_model_promotions_version_id", "version_id"),
    info={"count_label": "promotions"},
)
