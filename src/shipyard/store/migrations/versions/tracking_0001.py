"""tracking: experiments, runs, params, tags, metric series and chunks, artifacts

Revision ID: tracking_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "tracking_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("experiment_id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(26), nullable=True),
        sa.Column("start_time", UTCDateTime, nullable=False),
        sa.Column("end_time", UTCDateTime, nullable=True),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
        sa.Column("heartbeat_s", sa.Float, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("env", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_runs_experiment_id_experiments"
        ),
    )
    op.create_index("ix_runs_experiment_id_start_time", "runs", ["experiment_id", "start_time"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_parent_id", "runs", ["parent_id"])
    op.create_table(
        "run_params",
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("value_num", sa.Float, nullable=True),
        sa.Column("vtype", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", name="pk_run_params"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_params_run_id_runs"),
    )
    op.create_index("ix_run_params_key_value", "run_params", ["key", "value"])
    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", name="pk_run_tags"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_tags_run_id_runs"),
    )
    op.create_index("ix_run_tags_key_value", "run_tags", ["key", "value"])
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("last", sa.Float, nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("last_ts", sa.BigInteger, nullable=True),
        sa.Column("min", sa.Float, nullable=True),
        sa.Column("max", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_metric_series"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_metric_series_run_id_runs"),
        sa.UniqueConstraint("run_id", "key", name="uq_metric_series_run_id_key"),
    )
    op.create_index("ix_metric_series_key_last", "metric_series", ["key", "last"])
    op.create_table(
        "metric_chunks",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("series_id", sa.Integer, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_chunks"),
    )
    op.create_index(
        "ix_metric_chunks_series_id_first_step", "metric_chunks", ["series_id", "first_step"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # Chunks are packed numbers that compress poorly: skip TOAST compression (pglz),
        # which would otherwise cost most of the write time.
        op.execute("ALTER TABLE metric_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "run_artifacts",
        sa.Column("run_id", sa.String(26), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "path", name="pk_run_artifacts"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_artifacts_run_id_runs"),
    )


def downgrade() -> None:
    op.drop_table("run_artifacts")
    op.drop_table("metric_chunks")
    op.drop_table("metric_series")
    op.drop_table("run_tags")
    op.drop_table("run_params")
    op.drop_table("runs")
    op.drop_table("experiments")
