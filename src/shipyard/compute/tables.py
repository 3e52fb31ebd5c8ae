"""Compute tables: jobs (commands run under an executor) and their log chunks."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

compute_jobs = sa.Table(
    "compute_jobs",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("command", JSONType, nullable=False),
    sa.Column("cwd", sa.Text, nullable=True),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("resources", JSONType, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("host", sa.String(256), nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Index("ix_compute_jobs_status", "status"),
    info={"count_label": "jobs"},
)

compute_job_logs = sa.Table(
    "compute_job_logs",
    metadata,
    sa.Column("job_id", sa.String(26), sa.ForeignKey("compute_jobs.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(80), nullable=False, info={"blob_ref": True}),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
