"""datasets: datasets and dataset versions

Revision ID: data_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "data_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("schema", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("dataset_id", sa.String(26), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("manifest_digest", sa.String(71), nullable=False),
        sa.Column("parent_id", sa.String(26), nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("split", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_count", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=True),
        sa.Column("table_schema", JSONType, nullable=True),
        sa.Column("profile", JSONType, nullable=True),
        sa.Column("validation", JSONType, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name="fk_dataset_versions_dataset_id_datasets",
        ),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_id"),
    )
    op.create_index("ix_dataset_versions_digest", "dataset_versions", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_dataset_versions_digest", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
