"""labels: projects, annotators, tasks, members, annotations

Revision ID: labels_0001
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from shipyard.store._types import JSONType, UTCDateTime

revision = "labels_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_projects",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("classes", JSONType, nullable=False),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("overlap", sa.Integer, nullable=False),
        sa.Column("gold_fraction", sa.Float, nullable=False),
        sa.Column("source", JSONType, nullable=False),
        sa.Column("payload_digest", sa.String(80), nullable=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("n_tasks", sa.Integer, nullable=False),
        sa.Column("n_gold", sa.Integer, nullable=False),
        sa.Column("n_complete", sa.Integer, nullable=False),
        sa.Column("n_annotations", sa.Integer, nullable=False),
        sa.Column("queue_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_label_projects"),
        sa.UniqueConstraint("name", name="uq_label_projects_name"),
    )
    op.create_table(
        "label_annotators",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_label_annotators"),
        sa.UniqueConstraint("name", name="uq_label_annotators_name"),
    )
    op.create_table(
        "label_tasks",
        sa.Column("project_id", sa.String(26), nullable=False),
        sa.Column("row", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("is_gold", sa.Boolean, nullable=False),
        sa.Column("gold", JSONType, nullable=True),
        sa.Column("n_assigned", sa.Integer, nullable=False),
        sa.Column("n_done", sa.Integer, nullable=False),
        sa.Column("prediction", JSONType, nullable=True),
        sa.Column("review_status", sa.String(16), nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
        sa.Column("reviewed", JSONType, nullable=True),
        sa.Column("reviewer_id", sa.String(26), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "row", name="pk_label_tasks"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["label_projects.id"], name="fk_label_tasks_project_id_label_projects"
        ),
    )
    op.create_index("ix_label_tasks_queue", "label_tasks", ["project_id", "is_open", "position"])
    op.create_index("ix_label_tasks_review", "label_tasks", ["project_id", "review_status"])
    op.create_table(
        "label_members",
        sa.Column("project_id", sa.String(26), nullable=False),
        sa.Column("annotator_id", sa.String(26), nullable=False),
        sa.Column("cursor", sa.Integer, nullable=False),
        sa.Column("queue_version", sa.Integer, nullable=False),
        sa.Column("n_done", sa.Integer, nullable=False),
        sa.Column("n_skipped", sa.Integer, nullable=False),
        sa.Column("gold_seen", sa.Integer, nullable=False),
        sa.Column("gold_correct", sa.Integer, nullable=False),
        sa.Column("excluded", sa.Boolean, nullable=False),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sa.Column("last_active_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("project_id", "annotator_id", name="pk_label_members"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name="fk_label_members_project_id_label_projects",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["label_annotators.id"],
            name="fk_label_members_annotator_id_label_annotators",
        ),
    )
    op.create_table(
        "label_annotations",
        sa.Column("project_id", sa.String(26), nullable=False),
        sa.Column("row", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("annotator_id", sa.String(26), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("is_gold", sa.Boolean, nullable=False),
        sa.Column("label", sa.Integer, nullable=True),
        sa.Column("value", JSONType, nullable=True),
        sa.Column("assigned_at", UTCDateTime, nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("project_id", "row", "annotator_id", name="pk_label_annotations"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["label_projects.id"],
            name="fk_label_annotations_project_id_label_projects",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["label_annotators.id"],
            name="fk_label_annotations_annotator_id_label_annotators",
        ),
    )
    op.create_index(
        "ix_label_annotations_member",
        "label_annotations",
        ["project_id", "annotator_id", "status", "row", "label", "is_gold"],
    )
    op.create_index(
        "ix_label_annotations_status",
        "label_annotations",
        ["project_id", "status", "submitted_at"],
    )


def downgrade() -> None:
    op.drop_table("label_annotations")
    op.drop_table("label_members")
    op.drop_table("label_tasks")
    op.drop_table("label_annotators")
    op.drop_table("label_projects")
