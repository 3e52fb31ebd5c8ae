"""features: entities, feature views, feature services, materializations

Revision ID: features_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "features_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_entities",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("join_keys", JSONType, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feature_entities"),
        sa.UniqueConstraint("name", name="uq_feature_entities_name"),
    )
    op.create_table(
        "feature_views",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("spec", JSONType, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("dataset_version_id", sa.String(26), nullable=True),
        sa.Column("function_digest", sa.String(71), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feature_views"),
        sa.UniqueConstraint("name", "version", name="uq_feature_views_name_version"),
    )
    op.create_table(
        "feature_services",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("features", JSONType, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feature_services"),
        sa.UniqueConstraint("name", "version", name="uq_feature_services_name_version"),
    )
    op.create_table(
        "feature_materializations",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("view_id", sa.String(26), nullable=False),
        sa.Column("online_store", sa.String(256), nullable=False),
        sa.Column("start", UTCDateTime, nullable=True),
        sa.Column("end", UTCDateTime, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("entities", sa.BigInteger, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feature_materializations"),
        sa.ForeignKeyConstraint(
            ["view_id"],
            ["feature_views.id"],
            name="fk_feature_materializations_view_id_feature_views",
        ),
    )
    op.create_index("ix_feature_materializations_view_id", "feature_materializations", ["view_id"])


def downgrade() -> None:
    op.drop_index("ix_feature_materializations_view_id", "feature_materializations")
    op.drop_table("feature_materializations")
    op.drop_table("feature_services")
    op.drop_table("feature_views")
    op.drop_table("feature_entities")
