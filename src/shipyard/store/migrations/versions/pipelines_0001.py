"""pipelines: runs, step runs, outputs, schedules, ticks

Revision ID: pipelines_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "pipelines_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("pipeline", sa.String(128), nullable=False),
        sa.Column("target", sa.Text, nullable=True),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("graph", JSONType, nullable=False),
        sa.Column("n_steps", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("schedule_id", sa.String(26), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_runs"),
    )
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline"])
    op.create_table(
        "pipeline_step_runs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("step", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cache_key", sa.String(80), nullable=True),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("cached_from", sa.String(26), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("executor", sa.String(32), nullable=True),
        sa.Column("resources", JSONType, nullable=True),
        sa.Column("params", JSONType, nullable=True),
        sa.Column("inputs", JSONType, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("traceback", sa.Text, nullable=True),
        sa.Column("log_digest", sa.String(80), nullable=True),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.Column("duration_s", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_step_runs"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name="fk_pipeline_step_runs_run_id_pipeline_runs"
        ),
        sa.UniqueConstraint("run_id", "name", name="uq_pipeline_step_runs_run_id"),
    )
    op.create_index("ix_pipeline_step_runs_cache", "pipeline_step_runs", ["step", "cache_key"])
    op.create_table(
        "pipeline_step_outputs",
        sa.Column("step_run_id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("materializer", sa.String(64), nullable=False),
        sa.Column("type", sa.String(256), nullable=False),
        sa.Column("digest", sa.String(80), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("ref_kind", sa.String(48), nullable=True),
        sa.Column("ref_id", sa.String(80), nullable=True),
        sa.Column("preview", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("step_run_id", "name", name="pk_pipeline_step_outputs"),
    )
    op.create_table(
        "pipeline_schedules",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("cron", sa.String(128), nullable=False),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("catchup", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_schedules"),
        sa.UniqueConstraint("name", name="uq_pipeline_schedules_name"),
    )
    op.create_table(
        "pipeline_schedule_ticks",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.String(26), nullable=False),
        sa.Column("tick_at", UTCDateTime, nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(26), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_schedule_ticks"),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["pipeline_schedules.id"],
            name="fk_pipeline_schedule_ticks_schedule_id_pipeline_schedules",
        ),
        sa.UniqueConstraint(
            "schedule_id", "tick_at", name="uq_pipeline_schedule_ticks_schedule_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("pipeline_schedule_ticks")
    op.drop_table("pipeline_schedules")
    op.drop_table("pipeline_step_outputs")
    op.drop_index("ix_pipeline_step_runs_cache", table_name="pipeline_step_runs")
    op.drop_table("pipeline_step_runs")
    op.drop_index("ix_pipeline_runs_pipeline", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
