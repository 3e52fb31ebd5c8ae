"""tuning: studies and trials

Revision ID: tuning_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "tuning_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tuning_studies",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("experiment", sa.String(256), nullable=False),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("directions", JSONType, nullable=False),
        sa.Column("space", JSONType, nullable=False),
        sa.Column("sampler", sa.String(32), nullable=False),
        sa.Column("pruner", sa.String(32), nullable=False),
        sa.Column("options", JSONType, nullable=False),
        sa.Column("n_trials", sa.Integer, nullable=False),
        sa.Column("parallelism", sa.Integer, nullable=False),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("timeout_s", sa.Float, nullable=True),
        sa.Column("trial_timeout_s", sa.Float, nullable=True),
        sa.Column("seed", sa.Integer, nullable=True),
        sa.Column("objective", sa.Text, nullable=False),
        sa.Column("objective_digest", sa.String(80), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("driver", JSONType, nullable=True),
        sa.Column("heartbeat_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tuning_studies"),
        sa.UniqueConstraint("name", name="uq_tuning_studies_name"),
    )
    op.create_table(
        "tuning_trials",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("study_id", sa.String(26), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("metric_values", JSONType, nullable=True),
        sa.Column("intermediate", JSONType, nullable=True),
        sa.Column("last_step", sa.Integer, nullable=True),
        sa.Column("run_id", sa.String(26), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("traceback", sa.Text, nullable=True),
        sa.Column("user_attrs", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tuning_trials"),
        sa.ForeignKeyConstraint(
            ["study_id"], ["tuning_studies.id"], name="fk_tuning_trials_study_id_tuning_studies"
        ),
        sa.UniqueConstraint("study_id", "number", name="uq_tuning_trials_study_id_number"),
    )
    op.create_index("ix_tuning_trials_study_id_state", "tuning_trials", ["study_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_tuning_trials_study_id_state", table_name="tuning_trials")
    op.drop_table("tuning_trials")
    op.drop_table("tuning_studies")
