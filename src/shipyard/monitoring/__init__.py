"""Monitoring: prediction logs, drift against stored reference statistics, live
performance, service health, and alerts closing the loop to retraining.

>>> sink = open_prediction_log(ws, deployment="churn-prod")
>>> sink.write([{"request_id": "r1", "row": 0, "ts": now, "model": "churn", ...}])
>>> ws.monitors.create("churn-drift", model="churn", rules=["drift_share > 0.3"])
>>> ws.monitors.run("churn-drift")["drifted_columns"]
"""

from ._alerts import Rule, parse_rule
from ._drift import (
    ColumnDrift,
    DriftResult,
    ReferenceStats,
    choose_test,
    column_drift,
    compute_drift,
    psi,
)
from ._health import HealthChecker, health_summary, probe, registered_servers
from ._logs import PredictionLogSink, open_prediction_log, read_prediction_logs
from ._report import drift_report_html, figures
from ._service import Monitor, Monitors

__all__ = [
    "ColumnDrift",
    "DriftResult",
    "HealthChecker",
    "Monitor",
    "Monitors",
    "PredictionLogSink",
    "ReferenceStats",
    "Rule",
    "choose_test",
    "column_drift",
    "compute_drift",
    "drift_report_html",
    "figures",
    "health_summary",
    "open_prediction_log",
    "parse_rule",
    "probe",
    "psi",
    "read_prediction_logs",
    "registered_servers",
]
