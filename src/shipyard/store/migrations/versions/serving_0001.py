"""serving: deployments of model servers

Revision ID: serving_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "serving_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serving_deployments",
        sa.Column("id", sa.String(26), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_serving_deployments"),
    )
    op.create_index("ix_serving_deployments_status", "serving_deployments", ["status"])
    op.create_index("ix_serving_deployments_version", "serving_deployments", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_serving_deployments_version", table_name="serving_deployments")
    op.drop_index("ix_serving_deployments_status", table_name="serving_deployments")
    op.drop_table("serving_deployments")
