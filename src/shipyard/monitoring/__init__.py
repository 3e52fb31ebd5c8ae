"""Monitoring: prediction logs, drift against stored reference statistics, live
performance, service health and alerts with a retraining loop.

>>> sink = open_prediction_log(ws, deployment="churn-prod")
>>> sink.write([{"request_id": "r1", "row": 0, "ts": now, "model": "churn", ...}])
>>> read_prediction_logs(ws, "churn", version=3, start=an_hour_ago)
"""

from ._logs import PredictionLogSink, open_prediction_log, read_prediction_logs

__all__ = ["PredictionLogSink", "open_prediction_log", "read_prediction_logs"]
