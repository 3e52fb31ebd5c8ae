"""export: reports of ONNX exports, quantizations and distillations

Revision ID: export_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "export_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_reports",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_version_id", sa.String(26), nullable=False),
        sa.Column("version_id", sa.String(26), nullable=True),
        sa.Column("report", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_export_reports"),
    )
    op.create_index("ix_export_reports_source", "export_reports", ["source_version_id"])
    op.create_index("ix_export_reports_version", "export_reports", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_export_reports_version", table_name="export_reports")
    op.drop_index("ix_export_reports_source", table_name="export_reports")
    op.drop_table("export_reports")
