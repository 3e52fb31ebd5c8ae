"""evaluation: stored evaluation reports and success criteria

Revision ID: evaluation_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "evaluation_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("model_version_id", sa.String(26), nullable=False),
        sa.Column("dataset_label", sa.String(256), nullable=False),
        sa.Column("dataset_version_id", sa.String(80), nullable=True),
        sa.Column("data_digest", sa.String(71), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("suite", JSONType, nullable=False),
        sa.Column("report", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
    )
    op.create_index("ix_evaluations_model_version_id", "evaluations", ["model_version_id"])
    op.create_table(
        "success_criteria",
        sa.Column("metric", sa.String(128), nullable=False),
        sa.Column("expression", sa.String(256), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("metric", name="pk_success_criteria"),
    )


def downgrade() -> None:
    op.drop_table("success_criteria")
    op.drop_table("evaluations")
