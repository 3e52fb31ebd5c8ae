"""compute: jobs and their log chunks

Revision ID: compute_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "compute_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_jobs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("command", JSONType, nullable=False),
        sa.Column("cwd", sa.Text, nullable=True),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("resources", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("host", sa.String(256), nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compute_jobs"),
    )
    op.create_index("ix_compute_jobs_status", "compute_jobs", ["status"])
    op.create_table(
        "compute_job_logs",
        sa.Column("job_id", sa.String(26), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "seq", name="pk_compute_job_logs"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["compute_jobs.id"], name="fk_compute_job_logs_job_id_compute_jobs"
        ),
    )


def downgrade() -> None:
    op.drop_table("compute_job_logs")
    op.drop_index("ix_compute_jobs_status", table_name="compute_jobs")
    op.drop_table("compute_jobs")
