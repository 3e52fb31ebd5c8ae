"""monitoring: prediction log files, monitors, checks, alerts, label files

Revision ID: monitoring_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "monitoring_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_log_files",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deployment", sa.String(128), nullable=True),
        sa.Column("min_ts", UTCDateTime, nullable=False),
        sa.Column("max_ts", UTCDateTime, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("columns", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_prediction_log_files"),
    )
    op.create_index(
        "ix_prediction_log_files_window",
        "prediction_log_files",
        ["model", "version", "max_ts"],
    )
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("deployment", sa.String(128), nullable=True),
        sa.Column("reference", JSONType, nullable=False),
        sa.Column("reference_digest", sa.String(80), nullable=True),
        sa.Column("columns", JSONType, nullable=True),
        sa.Column("window_s", sa.Integer, nullable=False),
        sa.Column("schedule", sa.String(64), nullable=True),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_run_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_monitors"),
        sa.UniqueConstraint("name", name="uq_monitors_name"),
    )
    op.create_table(
        "monitor_checks",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("monitor_id", sa.String(26), nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
        sa.Column("window_end", UTCDateTime, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("drift_share", sa.Float, nullable=True),
        sa.Column("dataset_drift", sa.Boolean, nullable=True),
        sa.Column("result", JSONType, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_checks"),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name="fk_monitor_checks_monitor_id_monitors"
        ),
    )
    op.create_index("ix_monitor_checks_monitor", "monitor_checks", ["monitor_id", "created_at"])
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("monitor_id", sa.String(26), nullable=False),
        sa.Column("rule", sa.String(256), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("check_id", sa.String(26), nullable=True),
        sa.Column("fired_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("notified_at", UTCDateTime, nullable=True),
        sa.Column("details", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_alerts"),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name="fk_monitor_alerts_monitor_id_monitors"
        ),
    )
    op.create_index("ix_monitor_alerts_monitor", "monitor_alerts", ["monitor_id", "rule", "state"])
    op.create_table(
        "monitor_label_files",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("monitor_id", sa.String(26), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_label_files"),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name="fk_monitor_label_files_monitor_id_monitors"
        ),
    )
    op.create_index("ix_monitor_label_files_monitor", "monitor_label_files", ["monitor_id"])


def downgrade() -> None:
    op.drop_table("monitor_label_files")
    op.drop_table("monitor_alerts")
    op.drop_table("monitor_checks")
    op.drop_table("monitors")
    op.drop_table("prediction_log_files")
