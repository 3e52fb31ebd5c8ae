"""Evaluation tables: stored evaluation reports and API-declared success criteria."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("model_version_id", sa.String(26), nullable=False),
    sa.Column("dataset_label", sa.String(256), nullable=False),
    sa.Column("dataset_version_id", sa.String(80), nullable=True),
    sa.Column("data_digest", sa.String(71), nullable=False, info={"blob_ref": True}),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("suite", JSONType, nullable=False),
    sa.Column("report", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_evaluations_model_version_id", "model_version_id"),
    info={"count_label": "evaluations"},
)

success_criteria = sa.Table(
    "success_criteria",
    metadata,
    sa.Column("metric", sa.String(128), primary_key=True),
    sa.Column("expression", sa.String(256), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
