"""Export tables: one report per export, quantization or distillation attempt."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

export_reports = sa.Table(
    "export_reports",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source_version_id", sa.String(26), nullable=False),
    sa.Column("version_id", sa.String(26), nullable=True),
    sa.Column("report", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_export_reports_source", "source_version_id"),
    sa.Index("ix_export_reports_version", "version_id"),
    info={"count_label": "export reports"},
)
"""``operation``: onnx, quantize, ort, distill; ``status``: registered or refused.

``version_id`` is the registered result (NULL when a gate refused it); ``report`` holds
parity, sizes, latencies and metrics before/after, and the reason of a refusal.
"""
