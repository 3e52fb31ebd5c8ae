"""Tracking tables: experiments, runs, params, tags, metric summaries, points, artifacts.

Storage design
--------------
* ``metric_series`` is one row per (run, metric key): the series id plus the run's
  summary of that key (last value/step/time, min, max, count). Listing and searching
  read only this table, never the points.
* ``metric_chunks`` holds the raw series column-wise: each row is one chunk of one
  series (the points of that series in one writer batch) with three packed
  little-endian arrays ``step int64 | ts int64 (epoch ms) | value float64`` in one
  binary column. NaN and ±inf are stored as such. A series of 100,000 points is a
  handful of rows, so writing costs one row per series per batch and reading a whole
  series is a few ``frombuffer`` calls. Small chunks of a slowly logged series are
  merged by the writer (see ``_writer.COMPACT_AFTER``).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("tags", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    info={"count_label": "experiments"},
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("experiment_id", sa.String(26), sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("parent_id", sa.String(26), nullable=True),
    sa.Column("start_time", UTCDateTime, nullable=False),
    sa.Column("end_time", UTCDateTime, nullable=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_s", sa.Float, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("env", JSONType, nullable=False),
    sa.Index("ix_runs_experiment_id_start_time", "experiment_id", "start_time"),
    sa.Index("ix_runs_status", "status"),
    sa.Index("ix_runs_parent_id", "parent_id"),
    info={"count_label": "runs"},
)

run_params = sa.Table(
    "run_params",
    metadata,
    sa.Column("run_id", sa.String(26), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("value_num", sa.Float, nullable=True),
    sa.Column("vtype", sa.String(8), nullable=False),
    sa.Index("ix_run_params_key_value", "key", "value"),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", sa.String(26), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_run_tags_key_value", "key", "value"),
)

metric_series = sa.Table(
    "metric_series",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(26), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("last", sa.Float, nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=True),
    sa.Column("last_ts", sa.BigInteger, nullable=True),
    sa.Column("min", sa.Float, nullable=True),
    sa.Column("max", sa.Float, nullable=True),
    sa.UniqueConstraint("run_id", "key", name="uq_metric_series_run_id_key"),
    sa.Index("ix_metric_series_key_last", "key", "last"),
    info={"count_label": "metric series"},
)

metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("series_id", sa.Integer, nullable=False),
    sa.Column("first_step", sa.BigInteger, nullable=False),
    sa.Column("last_step", sa.BigInteger, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_metric_chunks_series_id_first_step", "series_id", "first_step"),
)

run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column("run_id", sa.String(26), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False, info={"blob_ref": True}),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
