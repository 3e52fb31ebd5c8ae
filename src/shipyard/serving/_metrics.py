"""Prometheus metrics of a model server, correct across worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve(workers=N)`` sets it before the workers
start) every process writes its values to files there and ``/metrics`` aggregates them.

Per-request figures (the request counter and duration histogram) are tallied in plain
Python and added to the Prometheus values in bulk: when ``/metrics`` is read, and
within ``flush_s`` (50 ms) of a request on a server's event loop, so that other worker
processes' counts reach the shared files that soon. That keeps two locked updates and
a bucket search per value off every request.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
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

    def __init__(self, flush_s: float = 0.05) -> None:
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

        # (model, version, protocol, code) -> (request counter, duration histogram, bulk)
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any, bool]] = {}
        self._tally: dict[tuple[str, str, str, str], list[Any]] = {}
        self._flush_at: asyncio.TimerHandle | None = None
        self.flush_s = flush_s

    def request_done(
        self, model: str, version: str, protocol: str, code: str, seconds: float
    ) -> None:
        """Count one request and observe its duration (see the module's docstring)."""
        key = (model, version, protocol, code)
        t = self._tally.get(key)
        if t is None:
            bulk = (self._children.get(key) or self._add_children(key))[2]
            # [requests, seconds, count per bucket, values for observe() when not in bulk]
            t = self._tally[key] = [0, 0.0, [0] * (len(_LAT) + 1), None if bulk else []]
        t[0] += 1
        t[1] += seconds
        if t[3] is None:
            t[2][bisect_left(_LAT, seconds)] += 1  # le: the first bound >= seconds
        else:
            t[3].append(seconds)
        if self._flush_at is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._flush_at = loop.call_later(self.flush_s, self.flush)

    def _add_children(self, key: tuple[str, str, str, str]) -> tuple[Any, Any, bool]:
        model, version, protocol, code = key
        counter = self.requests.labels(model, version, protocol, code)
        hist = self.request_duration.labels(model, protocol)
        # in bulk: add to the histogram's bucket and sum values, what observe() does one
        # value at a time; a prometheus_client without them gets observe() per value
        bulk = len(getattr(hist, "_buckets", ())) == len(_LAT) + 1 and hasattr(hist, "_sum")
        self._children[key] = (counter, hist, bulk)
        return self._children[key]

    def flush(self) -> None:
        """Add what :meth:`request_done` tallied to the Prometheus values."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        tally, self._tally = self._tally, {}
        for key, (n, total, buckets, values) in tally.items():
            counter, hist, _ = self._children[key]
            counter.inc(n)
            if values is None:
                hist._sum.inc(total)
                for value, count in zip(hist._buckets, buckets, strict=True):
                    if count:
                        value.inc(count)
            else:
                for v in values:
                    hist.observe(v)

    def render(self) -> tuple[bytes, str]:
        self.flush()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            reg = CollectorRegistry()
            multiprocess.MultiProcessCollector(reg)
            return generate_latest(reg), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
