"""Labeling tables: projects, annotators, tasks, project members and annotations.

Storage design
--------------
* Task payloads (text, image bytes, file paths) never enter the database: a project
  keeps them in one Parquet blob (``label_projects.payload_digest``) and a task row is
  just ``(project_id, row)`` plus the counters assignment needs.
* Assignment is served from the index ``(project_id, is_open, position)``: ``is_open``
  is kept in the row (a task with fewer than ``overlap`` annotators, or a live gold
  task), so the next task is an index range scan, never a ``COUNT(*)``.
* Every member keeps a ``cursor`` (the queue position of the last task it was given),
  so an annotator's next task is looked up after its cursor instead of walking past
  the tasks it has already done.
* Progress counters (tasks complete, annotations, gold seen/correct) are columns,
  updated in the same transaction as the annotation that changes them.
* ``label_annotations`` is one row per (task, annotator): the assignment and, once
  submitted, the answer (a class index in ``label`` for classification, JSON ``value``
  for multi-label, spans and boxes).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

label_projects = sa.Table(
    "label_projects",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("classes", JSONType, nullable=False),
    sa.Column("instructions", sa.Text, nullable=False),
    sa.Column("overlap", sa.Integer, nullable=False),
    sa.Column("gold_fraction", sa.Float, nullable=False),
    sa.Column("source", JSONType, nullable=False),
    sa.Column("payload_digest", sa.String(80), nullable=False, info={"blob_ref": True}),
    sa.Column("config", JSONType, nullable=False),
    sa.Column("n_tasks", sa.Integer, nullable=False),
    sa.Column("n_gold", sa.Integer, nullable=False),
    sa.Column("n_complete", sa.Integer, nullable=False),
    sa.Column("n_annotations", sa.Integer, nullable=False),
    sa.Column("queue_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    info={"count_label": "labeling projects"},
)

label_annotators = sa.Table(
    "label_annotators",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    info={"count_label": "annotators"},
)

label_tasks = sa.Table(
    "label_tasks",
    metadata,
    sa.Column("project_id", sa.String(26), sa.ForeignKey("label_projects.id"), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True, autoincrement=False),
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
    sa.Index("ix_label_tasks_queue", "project_id", "is_open", "position"),
    sa.Index("ix_label_tasks_review", "project_id", "review_status"),
)

label_members = sa.Table(
    "label_members",
    metadata,
    sa.Column("project_id", sa.String(26), sa.ForeignKey("label_projects.id"), primary_key=True),
    sa.Column(
        "annotator_id", sa.String(26), sa.ForeignKey("label_annotators.id"), primary_key=True
    ),
    sa.Column("cursor", sa.Integer, nullable=False),
    sa.Column("queue_version", sa.Integer, nullable=False),
    sa.Column("n_done", sa.Integer, nullable=False),
    sa.Column("n_skipped", sa.Integer, nullable=False),
    sa.Column("gold_seen", sa.Integer, nullable=False),
    sa.Column("gold_correct", sa.Integer, nullable=False),
    sa.Column("excluded", sa.Boolean, nullable=False),
    sa.Column("joined_at", UTCDateTime, nullable=False),
    sa.Column("last_active_at", UTCDateTime, nullable=True),
)

label_annotations = sa.Table(
    "label_annotations",
    metadata,
    sa.Column("project_id", sa.String(26), sa.ForeignKey("label_projects.id"), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "annotator_id", sa.String(26), sa.ForeignKey("label_annotators.id"), primary_key=True
    ),
    sa.Column("status", sa.String(12), nullable=False),  # assigned | submitted | skipped
    sa.Column("is_gold", sa.Boolean, nullable=False),
    sa.Column("label", sa.Integer, nullable=True),
    sa.Column("value", JSONType, nullable=True),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    # covering: an annotator's ratings are read from the index alone
    sa.Index(
        "ix_label_annotations_member",
        "project_id",
        "annotator_id",
        "status",
        "row",
        "label",
        "is_gold",
    ),
    sa.Index("ix_label_annotations_status", "project_id", "status", "submitted_at"),
    info={"count_label": "annotations"},
)
