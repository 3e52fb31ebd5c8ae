"""Service health from the prediction logs, and probes of registered servers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..core import utcnow
from ._logs import log_files, read_prediction_logs

if TYPE_CHECKING:
    from .._workspace import Workspace

_HEALTH_SQL_FAST = """
SELECT model, version,
       count(*) FILTER (WHERE "row" = 0) AS requests,
       count(*) AS rows,
       avg(CASE WHEN status >= 400 THEN 1.0 ELSE 0.0 END) FILTER (WHERE "row" = 0) AS error_rate,
       quantile_cont(latency_ms, [0.5, 0.95, 0.99]) FILTER (WHERE "row" = 0) AS q,
       min(ts) AS first_ts, max(ts) AS last_ts
FROM logs {where} GROUP BY model, version ORDER BY model, version
"""


def health_summary(
    ws: Workspace,
    model: str | None = None,
    version: int | Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    deployment: str | None = None,
) -> list[dict[str, Any]]:
    """Per model and version: requests, rows, request rate, error rate, latency quantiles.

    A request is counted once (its ``row == 0`` log row carries its status and latency).
    DuckDB scans only the five columns it needs of the window's Parquet files.
    """
    import duckdb

    models = [model] if model else _models(ws)
    files: list[dict[str, Any]] = []
    for m in models:
        files += log_files(ws, m, version, start, end, deployment)
    if not files:
        return []
    cols = ["model", "version", "row", "ts", "status", "latency_ms"]
    con = duckdb.connect()
    paths = [ws.blobs.local_path(f["digest"]) for f in files]
    if all(p is not None for p in paths):
        listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        con.execute(
            f"CREATE VIEW logs AS SELECT {', '.join(_q(c) for c in cols)} "
            f"FROM read_parquet([{listed}])"
        )
    else:
        tables = [
            read_prediction_logs(ws, m, version, start, end, cols, deployment=deployment)
            for m in models
        ]
        import pyarrow as pa

        con.register("logs", pa.concat_tables(tables, promote_options="permissive"))
    where, params = [], []
    if start is not None:
        where.append("ts >= ?")
        params.append(start)
    if end is not None:
        where.append("ts < ?")
        params.append(end)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = con.execute(_HEALTH_SQL_FAST.format(where=clause), params).fetchall()
    out = []
    for m, v, requests, n_rows, err, q, first, last in rows:
        span = (last - first).total_seconds() if first is not None and last is not None else 0
        q = q or [None, None, None]
        out.append(
            {
                "model": m,
                "version": int(v),
                "requests": int(requests),
                "rows": int(n_rows),
                "request_rate": (requests / span) if span > 0 else float(requests),
                "error_rate": float(err) if err is not None else 0.0,
                "p50_latency_ms": q[0],
                "p95_latency_ms": q[1],
                "p99_latency_ms": q[2],
                "first_ts": first.isoformat() if first else None,
                "last_ts": last.isoformat() if last else None,
            }
        )
    con.close()
    return out


def _q(c: str) -> str:
    return '"' + c + '"'


def _models(ws: Workspace) -> list[str]:
    from .tables import prediction_log_files as t

    with ws.db.read() as conn:
        return [r[0] for r in conn.execute(sa.select(t.c.model).distinct())]


_deployments = sa.table(
    "serving_deployments",
    sa.column("name"),
    sa.column("model_name"),
    sa.column("version"),
    sa.column("url"),
    sa.column("status"),
)


def registered_servers(ws: Workspace, model: str | None = None) -> list[dict[str, Any]]:
    """Servers recorded by ``shipyard serve`` (running ones with a URL)."""
    q = sa.select(_deployments).where(_deployments.c.url.is_not(None))
    if model is not None:
        q = q.where(_deployments.c.model_name == model)
    try:
        with ws.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
    except sa.exc.SQLAlchemyError:  # serving not installed in this workspace
        return []
    return [r for r in rows if r.get("status") not in ("stopped",)]


def probe(url: str, timeout: float = 2.0) -> dict[str, Any]:
    """GET ``{url}/v2/health/ready``: ``{"url", "up", "status", "error", "at"}``."""
    import httpx

    target = url.rstrip("/") + "/v2/health/ready"
    at = utcnow()
    try:
        r = httpx.get(target, timeout=timeout)
        return {"url": url, "up": r.status_code == 200, "status": r.status_code, "at": at}
    except httpx.HTTPError as exc:
        return {
            "url": url,
            "up": False,
            "status": None,
            "error": str(exc) or type(exc).__name__,
            "at": at,
        }


class HealthChecker:
    """Probes servers and remembers since when each one is down."""

    def __init__(self, ws: Workspace, urls: Sequence[str] | None = None) -> None:
        self.ws = ws
        self.urls = list(urls) if urls is not None else None
        self.down_since: dict[str, datetime] = {}

    def targets(self) -> list[str]:
        if self.urls is not None:
            return self.urls
        return sorted({str(r["url"]) for r in registered_servers(self.ws)})

    def check(self) -> list[dict[str, Any]]:
        out = []
        for url in self.targets():
            r = probe(url)
            if r["up"]:
                self.down_since.pop(url, None)
                r["down_s"] = 0.0
            else:
                since = self.down_since.setdefault(url, r["at"])
                r["down_since"] = since.isoformat()
                r["down_s"] = (r["at"] - since).total_seconds()
            r["at"] = r["at"].isoformat()
            out.append(r)
        return out
