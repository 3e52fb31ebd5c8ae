"""Serving tables: one row per model served by a running (or stopped) server."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

serving_deployments = sa.Table(
    "serving_deployments",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("ref", sa.String(300), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("version_id", sa.String(26), nullable=True),
    sa.Column("url", sa.String(500), nullable=True),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("options", JSONType, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime, nullable=True),
    sa.Index("ix_serving_deployments_status", "status"),
    sa.Index("ix_serving_deployments_version", "version_id"),
    info={"count_label": "deployments"},
)
"""``status``: running or stopped; ``version_id`` is the model version now served."""
