"""Prometheus metrics of a model server, correct across worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve(workers=N)`` sets it before the workers
start) every process writes its values to files there and ``/metrics`` aggregates them.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_LAT = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The metric families of one server, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "shipyard_requests",
            "Requests served, by model, version, protocol and status code.",
            ["model", "version", "protocol", "code"],
            registry=r,
        )
        self.request_duration = Histogram(
            "shipyard_request_duration_seconds",
            "Time from request arrival to response.",
            ["model", "protocol"],
            buckets=_LAT,
            registry=r,
        )
        self.inference_duration = Histogram(
            "shipyard_inference_duration_seconds",
            "Time of one model call (one batch).",
            ["model", "version"],
            buckets=_LAT,
            registry=r,
        )
        self.batch_rows = Histogram(
            "shipyard_batch_rows",
            "Rows per model call.",
            ["model", "version"],
            buckets=_ROWS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "shipyard_queue_depth",
            "Requests waiting in the batching queue.",
            ["model"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.rejected = Counter(
            "shipyard_rejected",
            "Requests refused with 503, by reason (queue_full, deadline, not_ready).",
            ["model", "reason"],
            registry=r,
        )
        self.log_dropped = Counter(
            "shipyard_prediction_log_dropped",
            "Prediction log rows dropped because the sink fell behind or is missing.",
            registry=r,
        )

        self._children: dict[tuple[str, ...], Any] = {}

    def request_done(
        self, model: str, version: str, protocol: str, code: str, seconds: float
    ) -> None:
        """Count one request and observe its duration (label children are cached)."""
        key = (model, version, protocol, code)
        pair = self._children.get(key)
        if pair is None:
            pair = (
                self.requests.labels(model, version, protocol, code),
                self.request_duration.labels(model, protocol),
            )
            self._children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            return generate_latest(reg), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
