"""foundation: workspace facts and lineage graph

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_workspace_meta"),
    )
    op.create_table(
        "lineage_nodes",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("object_id", sa.String(80), nullable=False),
        sa.Column("label", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_lineage_nodes"),
    )
    op.create_index("ix_lineage_nodes_kind", "lineage_nodes", ["kind"])
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("src", sa.String(128), nullable=False),
        sa.Column("dst", sa.String(128), nullable=False),
        sa.Column("relation", sa.String(48), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_edges"),
        sa.ForeignKeyConstraint(
            ["src"], ["lineage_nodes.key"], name="fk_lineage_edges_src_lineage_nodes"
        ),
        sa.ForeignKeyConstraint(
            ["dst"], ["lineage_nodes.key"], name="fk_lineage_edges_dst_lineage_nodes"
        ),
        sa.UniqueConstraint("src", "dst", "relation", name="uq_lineage_edges_src_dst_relation"),
    )
    op.create_index("ix_lineage_edges_src", "lineage_edges", ["src"])
    op.create_index("ix_lineage_edges_dst", "lineage_edges", ["dst"])


def downgrade() -> None:
    op.drop_table("lineage_edges")
    op.drop_table("lineage_nodes")
    op.drop_table("workspace_meta")
