"""registry: registered models, versions, aliases with history, promotions

Revision ID: registry_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "registry_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("model_id", sa.String(26), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("flavor", sa.String(32), nullable=False),
        sa.Column("flavor_meta", JSONType, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("signature", JSONType, nullable=True),
        sa.Column("input_example", JSONType, nullable=True),
        sa.Column("metrics", JSONType, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("run_id", sa.String(80), nullable=True),
        sa.Column("parent_id", sa.String(26), nullable=True),
        sa.Column("producer", sa.String(128), nullable=True),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("git_dirty", sa.Boolean, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name="fk_model_versions_model_id_registered_models",
        ),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )
    op.create_index("ix_model_versions_digest", "model_versions", ["digest"])
    op.create_table(
        "model_version_datasets",
        sa.Column("version_id", sa.String(26), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("dataset_version_id", sa.String(80), nullable=True),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("hashed_columns", JSONType, nullable=False),
        sa.Column("stats", JSONType, nullable=False),
        sa.Column("row_hashes", sa.String(71), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "position", name="pk_model_version_datasets"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_version_datasets_version_id_model_versions",
        ),
    )
    op.create_table(
        "model_aliases",
        sa.Column("model_id", sa.String(26), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version_id", sa.String(26), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_model_aliases"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name="fk_model_aliases_model_id_registered_models",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_aliases_version_id_model_versions",
        ),
    )
    op.create_index("ix_model_aliases_version_id", "model_aliases", ["version_id"])
    op.create_table(
        "model_alias_history",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(26), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("moved_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_alias_history"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name="fk_model_alias_history_model_id_registered_models",
        ),
        sa.UniqueConstraint(
            "model_id", "alias", "seq", name="uq_model_alias_history_model_id_alias_seq"
        ),
    )
    op.create_table(
        "model_promotions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("version_id", sa.String(26), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("checks", JSONType, nullable=False),
        sa.Column("evaluation_id", sa.String(26), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_promotions"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_promotions_version_id_model_versions",
        ),
    )
    op.create_index("ix_model_promotions_version_id", "model_promotions", ["version_id"])


def downgrade() -> None:
    op.drop_table("model_promotions")
    op.drop_table("model_alias_history")
    op.drop_table("model_aliases")
    op.drop_table("model_version_datasets")
    op.drop_table("model_versions")
    op.drop_table("registered_models")
