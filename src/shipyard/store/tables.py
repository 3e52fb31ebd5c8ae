"""Foundation tables: workspace facts and the lineage graph."""

from __future__ import annotations

import sqlalchemy as sa

from ._db import metadata
from ._types import UTCDateTime

workspace_meta = sa.Table(
    "workspace_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

lineage_nodes = sa.Table(
    "lineage_nodes",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),  # "<kind>:<id>"
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("object_id", sa.String(80), nullable=False),
    sa.Column("label", sa.String(256), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_lineage_nodes_kind", "kind"),
    info={"count_label": "lineage objects"},
)

lineage_edges = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("src", sa.String(128), sa.ForeignKey("lineage_nodes.key"), nullable=False),
    sa.Column("dst", sa.String(128), sa.ForeignKey("lineage_nodes.key"), nullable=False),
    sa.Column("relation", sa.String(48), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("src", "dst", "relation", name="uq_lineage_edges_src_dst_relation"),
    sa.Index("ix_lineage_edges_src", "src"),
    sa.Index("ix_lineage_edges_dst", "dst"),
    info={"count_label": "lineage edges"},
)
