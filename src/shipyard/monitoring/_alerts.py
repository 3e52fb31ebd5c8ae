"""Alert rules, their evaluation on each check, and notifiers (log, webhook, pipeline)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..core import InvalidInput

log = logging.getLogger("shipyard.monitoring")

OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
METRICS = (
    "drift_share",
    "drifted_columns",
    "prediction_drift",
    "prediction_psi",
    "rows",
    "request_rate",
    "error_rate",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "accuracy",
    "f1",
    "roc_auc",
    "rmse",
    "mae",
    "estimated_accuracy",
    "accuracy_drop",
    "down_s",
)
COLUMN_METRICS = ("psi", "statistic", "drifted")
_RULE = re.compile(
    r"^\s*(?:column:(?P<col>[^\s]+)\s+)?(?P<metric>[a-z0-9_]+)\s*"
    r"(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_DOWN = re.compile(r"^\s*down\s+for\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


@dataclass(frozen=True)
class Rule:
    text: str
    metric: str
    op: str
    value: float
    column: str | None = None

    def metric_of(self, metrics: dict[str, Any]) -> float | None:
        if self.column is not None:
            col = (metrics.get("columns") or {}).get(self.column)
            v = None if col is None else col.get(self.metric)
        else:
            v = metrics.get(self.metric)
            if self.metric == "down_s" and metrics.get("server_up"):
                return -1.0  # up: a "down for …" rule does not hold, whatever its duration
        if v is None:
            return None
        return float(v)

    def holds(self, value: float) -> bool:
        return bool(OPS[self.op](value, self.value))


def parse_rule(text: str, columns: list[str] | None = None) -> Rule:
    """Parse ``drift_share > 0.3``, ``column:income psi > 0.2``, ``down for 60s``…"""
    m = _DOWN.match(text)
    if m:
        secs = float(m["n"]) * _UNITS[m["unit"]]
        return Rule(text.strip(), "down_s", ">=", secs)
    m = _RULE.match(text)
    if not m:
        raise InvalidInput(
            f"cannot parse alert rule {text!r}; write e.g. 'drift_share > 0.3', "
            "'column:income psi > 0.2', 'p99_latency_ms > 50' or 'down for 60s'",
            details={"rule": text},
        )
    col, metric = m["col"], m["metric"]
    if col is not None:
        if metric not in COLUMN_METRICS:
            raise InvalidInput(
                f"rule {text!r}: a column rule uses one of {', '.join(COLUMN_METRICS)}, "
                f"not {metric!r}",
                details={"rule": text},
            )
        if columns is not None and col not in columns:
            raise InvalidInput(
                f"rule {text!r} names column {col!r}, which the monitor does not check; "
                f"columns: {', '.join(columns)}",
                details={"rule": text, "column": col},
            )
    elif metric not in METRICS:
        raise InvalidInput(
            f"rule {text!r}: unknown metric {metric!r}; metrics: {', '.join(METRICS)}",
            details={"rule": text, "metric": metric},
        )
    return Rule(text.strip(), metric, m["op"], float(m["value"]), col)


def parse_duration(value: str | int | float, what: str = "window") -> int:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h"``, ``"2d"``."""
    if isinstance(value, int | float):
        secs = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value))
        if not m:
            raise InvalidInput(
                f"cannot read {what} {value!r}; write seconds or e.g. '30s', '15m', '1h', '1d'",
                details={what: value},
            )
        secs = float(m[1]) * _UNITS[m[2] or None]
    if secs <= 0:
        raise InvalidInput(f"{what} must be positive, got {value!r}", details={what: value})
    return int(secs)


NOTIFIER_TYPES = ("log", "webhook", "pipeline")


def check_notifier(n: dict[str, Any]) -> dict[str, Any]:
    kind = n.get("type")
    if kind not in NOTIFIER_TYPES:
        raise InvalidInput(
            f"unknown notifier type {kind!r}; choose one of {', '.join(NOTIFIER_TYPES)}",
            details={"notifier": n},
        )
    if kind == "webhook" and not str(n.get("url", "")).startswith(("http://", "https://")):
        raise InvalidInput("a webhook notifier needs an http(s) 'url'", details={"notifier": n})
    if kind == "pipeline" and not n.get("target"):
        raise InvalidInput(
            "a pipeline notifier needs a 'target' ('flows/train.py:training')",
            details={"notifier": n},
        )
    return dict(n)


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    import httpx

    try:
        r = httpx.post(url, json=payload, timeout=timeout)
        return {"type": "webhook", "url": url, "status": r.status_code, "ok": r.is_success}
    except httpx.HTTPError as exc:
        log.warning("webhook %s failed: %s", url, exc)
        return {"type": "webhook", "url": url, "ok": False, "error": str(exc)}
