"""Pipeline tables: runs, step runs, step outputs, schedules and claimed ticks."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("pipeline", sa.String(128), nullable=False),
    sa.Column("target", sa.Text, nullable=True),  # "file.py:name" or "module:name"
    sa.Column("params", JSONType, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("graph", JSONType, nullable=False),  # steps and their dependencies
    sa.Column("n_steps", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("schedule_id", sa.String(26), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Index("ix_pipeline_runs_pipeline", "pipeline"),
    info={"count_label": "pipeline runs"},
)

pipeline_step_runs = sa.Table(
    "pipeline_step_runs",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("run_id", sa.String(26), sa.ForeignKey("pipeline_runs.id"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),  # unique within the run
    sa.Column("step", sa.String(256), nullable=False),  # module.qualname of the function
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cache_key", sa.String(80), nullable=True),
    sa.Column("cached", sa.Boolean, nullable=False, default=False),
    sa.Column("cached_from", sa.String(26), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("executor", sa.String(32), nullable=True),
    sa.Column("resources", JSONType, nullable=True),
    sa.Column("params", JSONType, nullable=True),
    sa.Column("inputs", JSONType, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("traceback", sa.Text, nullable=True),
    sa.Column("log_digest", sa.String(80), nullable=True, info={"blob_ref": True}),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.UniqueConstraint("run_id", "name", name="uq_pipeline_step_runs_run_id"),
    sa.Index("ix_pipeline_step_runs_cache", "step", "cache_key"),
    info={"count_label": "step runs"},
)

pipeline_step_outputs = sa.Table(
    "pipeline_step_outputs",
    metadata,
    sa.Column("step_run_id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("materializer", sa.String(64), nullable=False),
    sa.Column("type", sa.String(256), nullable=False),
    sa.Column("digest", sa.String(80), nullable=True, info={"blob_ref": True}),
    sa.Column("size", sa.BigInteger, nullable=True),
    sa.Column("ref_kind", sa.String(48), nullable=True),  # objects passed by reference
    sa.Column("ref_id", sa.String(80), nullable=True),
    sa.Column("preview", sa.Text, nullable=True),
)

pipeline_schedules = sa.Table(
    "pipeline_schedules",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("cron", sa.String(128), nullable=False),
    sa.Column("params", JSONType, nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("catchup", sa.String(16), nullable=False),  # latest | all | none
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("start_at", UTCDateTime, nullable=False),
    info={"count_label": "pipeline schedules"},
)

pipeline_schedule_ticks = sa.Table(
    "pipeline_schedule_ticks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("schedule_id", sa.String(26), sa.ForeignKey("pipeline_schedules.id"), nullable=False),
    sa.Column("tick_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(128), nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # claimed | started | skipped | failed
    sa.Column("run_id", sa.String(26), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.UniqueConstraint("schedule_id", "tick_at", name="uq_pipeline_schedule_ticks_schedule_id"),
)
