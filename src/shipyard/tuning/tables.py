"""Tuning tables: studies and their trials (the driver is their only writer)."""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

tuning_studies = sa.Table(
    "tuning_studies",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("experiment", sa.String(256), nullable=False),
    sa.Column("metrics", JSONType, nullable=False),  # ["val_auc"] or two names
    sa.Column("directions", JSONType, nullable=False),  # ["maximize"]
    sa.Column("space", JSONType, nullable=False),
    sa.Column("sampler", sa.String(32), nullable=False),
    sa.Column("pruner", sa.String(32), nullable=False),
    sa.Column("options", JSONType, nullable=False),  # sampler/pruner options, resources…
    sa.Column("n_trials", sa.Integer, nullable=False),
    sa.Column("parallelism", sa.Integer, nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("timeout_s", sa.Float, nullable=True),
    sa.Column("trial_timeout_s", sa.Float, nullable=True),
    sa.Column("seed", sa.Integer, nullable=True),
    sa.Column("objective", sa.Text, nullable=False),  # "module:qualname" (for display)
    sa.Column("objective_digest", sa.String(80), nullable=True, info={"blob_ref": True}),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("driver", JSONType, nullable=True),  # {"token", "host", "pid"} while running
    sa.Column("heartbeat_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    info={"count_label": "studies"},
)

tuning_trials = sa.Table(
    "tuning_trials",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("study_id", sa.String(26), sa.ForeignKey("tuning_studies.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    # waiting (enqueued or re-queued), running, complete, pruned, failed
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # sampler, enqueued, grid, requeued
    sa.Column("params", JSONType, nullable=False),  # flat Optuna params {name: value}
    sa.Column("metric_values", JSONType, nullable=True),  # [v] or [v1, v2]
    sa.Column("intermediate", JSONType, nullable=True),  # {step: value}
    sa.Column("last_step", sa.Integer, nullable=True),
    sa.Column("run_id", sa.String(26), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("traceback", sa.Text, nullable=True),
    sa.Column("user_attrs", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_tuning_trials_study_id_number"),
    sa.Index("ix_tuning_trials_study_id_state", "study_id", "state"),
    info={"count_label": "trials"},
)
