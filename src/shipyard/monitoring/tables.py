"""Monitoring tables: prediction log files, monitors, checks, alerts and label files.

Storage design
--------------
* Prediction logs never enter the database: rows are written as rolling Parquet files
  to the blob store, and ``prediction_log_files`` holds one row per file with the
  model, version, deployment and the time span it covers, so a check lists the files
  of its window from an index and DuckDB/Arrow scan only those (and only the columns
  the check needs: inputs and outputs are flattened to ``in_<col>`` / ``out_<name>``).
* A monitor stores its reference statistics once (``reference_digest``: a JSON blob of
  histograms and category counts); each check scans only the current window.
* ``monitor_checks`` keeps one row per check with the dataset-level figures in columns
  (for listing and charts) and the per-column results in JSON.
* ``monitor_alerts`` is one row per (monitor, rule) episode: firing, then resolved.
* Ground truth arriving later is kept as Parquet blobs too (``monitor_label_files``).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..store import JSONType, UTCDateTime, metadata

prediction_log_files = sa.Table(
    "prediction_log_files",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("deployment", sa.String(128), nullable=True),
    sa.Column("min_ts", UTCDateTime, nullable=False),
    sa.Column("max_ts", UTCDateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False, info={"blob_ref": True}),
    sa.Column("columns", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_prediction_log_files_window", "model", "version", "max_ts"),
    info={"count_label": "prediction log files"},
)

monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("deployment", sa.String(128), nullable=True),
    sa.Column("reference", JSONType, nullable=False),
    sa.Column("reference_digest", sa.String(80), nullable=True, info={"blob_ref": True}),
    sa.Column("columns", JSONType, nullable=True),
    sa.Column("window_s", sa.Integer, nullable=False),
    sa.Column("schedule", sa.String(64), nullable=True),
    sa.Column("config", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_run_at", UTCDateTime, nullable=True),
    info={"count_label": "monitors"},
)

monitor_checks = sa.Table(
    "monitor_checks",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("monitor_id", sa.String(26), sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("window_end", UTCDateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # ok | drift | no_data
    sa.Column("drift_share", sa.Float, nullable=True),
    sa.Column("dataset_drift", sa.Boolean, nullable=True),
    sa.Column("result", JSONType, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_monitor_checks_monitor", "monitor_id", "created_at"),
    info={"count_label": "monitor checks"},
)

monitor_alerts = sa.Table(
    "monitor_alerts",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("monitor_id", sa.String(26), sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("rule", sa.String(256), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # firing | resolved
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("check_id", sa.String(26), nullable=True),
    sa.Column("fired_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("notified_at", UTCDateTime, nullable=True),
    sa.Column("details", JSONType, nullable=False),
    sa.Index("ix_monitor_alerts_monitor", "monitor_id", "rule", "state"),
    info={"count_label": "alerts"},
)

monitor_label_files = sa.Table(
    "monitor_label_files",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("monitor_id", sa.String(26), sa.ForeignKey("monitors.id"), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(80), nullable=False, info={"blob_ref": True}),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_monitor_label_files_monitor", "monitor_id"),
)
