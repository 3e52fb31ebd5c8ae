"""``ws.monitors``: monitors over a model's prediction logs, checks, alerts and labels."""

from __future__ import annotations

import builtins
import io
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..core import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    ShipyardError,
    as_utc,
    did_you_mean,
    new_id,
    utcnow,
    validate_name,
)
from ..store import Node
from ._alerts import Rule, check_notifier, parse_duration, parse_rule, post_webhook
from ._drift import ReferenceStats, compute_drift
from ._health import health_summary, probe
from ._logs import IN_PREFIX, OUT_PREFIX, read_prediction_logs
from .tables import monitor_alerts, monitor_checks, monitor_label_files, monitors

if TYPE_CHECKING:
    from .._workspace import Workspace

log = logging.getLogger("shipyard.monitoring")

PREDICTION_REFERENCE_ROWS = 20_000


@dataclass(frozen=True)
class Monitor:
    id: str
    name: str
    model: str
    version: int | None
    deployment: str | None
    reference: dict[str, Any]
    reference_digest: str | None
    columns: list[str] | None
    window_s: int
    schedule: str | None
    config: dict[str, Any]
    created_at: datetime
    last_run_at: datetime | None

    @property
    def lineage_node(self) -> Node:
        return Node("monitor", self.id, self.name)

    @property
    def rules(self) -> list[str]:
        return list(self.config.get("rules", []))

    @property
    def notifiers(self) -> list[dict[str, Any]]:
        return list(self.config.get("notifiers", []))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "model": self.model,
            "version": self.version,
            "deployment": self.deployment,
            "reference": self.reference,
            "columns": self.columns,
            "window_s": self.window_s,
            "schedule": self.schedule,
            "rules": self.rules,
            "notifiers": self.notifiers,
            "cooldown_s": self.config.get("cooldown_s"),
            "created_at": self.created_at.isoformat(),
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
        }


def _monitor(r: Any) -> Monitor:
    return Monitor(
        r.id,
        r.name,
        r.model,
        r.version,
        r.deployment,
        dict(r.reference),
        r.reference_digest,
        list(r.columns) if r.columns is not None else None,
        int(r.window_s),
        r.schedule,
        dict(r.config),
        as_utc(r.created_at),
        as_utc(r.last_run_at) if r.last_run_at else None,
    )


def _check_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "monitor_id": r.monitor_id,
        "window_start": as_utc(r.window_start).isoformat(),
        "window_end": as_utc(r.window_end).isoformat(),
        "rows": r.rows,
        "status": r.status,
        "drift_share": r.drift_share,
        "dataset_drift": r.dataset_drift,
        "duration_s": r.duration_s,
        "created_at": as_utc(r.created_at).isoformat(),
        **dict(r.result),
    }


def _alert_dict(r: Any, monitor_name: str | None = None) -> dict[str, Any]:
    return {
        "id": r.id,
        "monitor_id": r.monitor_id,
        "monitor": monitor_name,
        "rule": r.rule,
        "state": r.state,
        "value": r.value,
        "check_id": r.check_id,
        "fired_at": as_utc(r.fired_at).isoformat(),
        "resolved_at": as_utc(r.resolved_at).isoformat() if r.resolved_at else None,
        "notified_at": as_utc(r.notified_at).isoformat() if r.notified_at else None,
        "details": dict(r.details),
    }


class Monitors:
    """Create monitors, run checks, evaluate alerts, join late labels."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._refs: dict[str, ReferenceStats] = {}

    # ================================================================== create
    def create(
        self,
        name: str,
        model: str,
        reference: Any = None,
        columns: builtins.list[str] | None = None,
        window: str | int = "1h",
        schedule: str | None = "*/5 * * * *",
        *,
        version: int | None = None,
        deployment: str | None = None,
        tests: dict[str, str] | None = None,
        thresholds: dict[str, float] | None = None,
        drift_share: float = 0.5,
        rules: builtins.list[str] | None = None,
        notifiers: builtins.list[dict[str, Any]] | None = None,
        cooldown: str | int = "15m",
        target: str | None = None,
        server_url: str | None = None,
        prediction_drift: bool = True,
    ) -> Monitor:
        """A monitor of *model* (all versions, or *version*) over its prediction logs.

        *reference*: a dataset ref (``"churn-train@3"``), a table (DataFrame/Arrow), a
        :class:`shipyard.data.TableProfile`, or None for the training dataset of the
        model version found through lineage. Its statistics are computed once here and
        stored; each check scans only the current window of logs.
        """
        validate_name(name, "monitor")
        mv = self._model_version(model, version)
        window_s = parse_duration(window, "window")
        cooldown_s = parse_duration(cooldown, "cooldown") if cooldown else 0
        if schedule:
            from croniter import croniter

            if not croniter.is_valid(schedule):
                raise InvalidInput(
                    f"invalid schedule {schedule!r}: use a cron expression like '*/5 * * * *'",
                    details={"schedule": schedule},
                )
        ref_desc, ref_stats, ref_table, ref_node = self._reference(mv, reference, target)
        ref_cols = [c for c in ref_stats.columns if c != target]
        if columns is not None:
            unknown = [c for c in columns if c not in ref_stats.columns]
            if unknown:
                raise InvalidInput(
                    f"column {unknown[0]!r} is not in the reference; columns: "
                    f"{', '.join(ref_cols)}",
                    details={"column": unknown[0]},
                )
            cols = list(columns)
        else:
            sig_cols = _signature_columns(mv)
            cols = [c for c in (sig_cols or ref_cols) if c in ref_stats.columns and c != target]
        if not cols:
            raise InvalidInput(
                "the monitor has no column to check: the reference shares no column with "
                "the model's inputs",
                details={"reference": ref_desc},
            )
        parsed = [parse_rule(r, cols) for r in rules or []]
        checked_notifiers = [check_notifier(n) for n in notifiers or []]
        stats = ReferenceStats(
            ref_stats.row_count, {c: ref_stats.columns[c] for c in cols}, ref_stats.source
        )
        pred_note = None
        if prediction_drift and ref_table is not None:
            try:
                stats.columns.update(self._prediction_reference(mv, ref_table, cols))
            except Exception as exc:  # a model that cannot score the reference
                pred_note = f"no prediction drift: {type(exc).__name__}: {exc}"
        digest = self.ws.blobs.put_bytes(json.dumps(stats.to_dict()).encode())
        config = {
            "tests": dict(tests or {}),
            "thresholds": dict(thresholds or {}),
            "drift_share": float(drift_share),
            "rules": [r.text for r in parsed],
            "notifiers": checked_notifiers,
            "cooldown_s": cooldown_s,
            "target": target,
            "server_url": server_url,
            "task": self._task(mv),
            "model_version_id": mv.id,
            "model_version": mv.version,
            "prediction_note": pred_note,
        }
        mid = new_id()
        now = utcnow()
        with self.ws.db.write() as conn:
            exists = conn.execute(sa.select(monitors.c.id).where(monitors.c.name == name)).first()
            if exists is not None:
                raise AlreadyExists(f"monitor {name!r} already exists", details={"name": name})
            conn.execute(
                monitors.insert().values(
                    id=mid,
                    name=name,
                    model=mv.name,
                    version=version,
                    deployment=deployment,
                    reference=ref_desc,
                    reference_digest=digest,
                    columns=cols,
                    window_s=window_s,
                    schedule=schedule,
                    config=config,
                    created_at=now,
                    last_run_at=None,
                )
            )
        m = self.get(name)
        self.ws.lineage.created(m)
        self.ws.lineage.record(mv, m, "monitored_by")
        if ref_node is not None:
            self.ws.lineage.record(ref_node, m, "reference_of")
        self._refs[digest] = stats
        return m

    def _model_version(self, model: str, version: int | None) -> Any:
        ref = model if version is None else f"{model}@{version}"
        try:
            return self.ws.models.get(ref)
        except NotFound:
            names = self.ws.models.names()
            raise NotFound(
                f"cannot monitor {ref!r}: no such model version in the registry "
                f"(models {did_you_mean(names)})",
                details={"model": model},
            ) from None

    def _reference(
        self, mv: Any, reference: Any, target: str | None
    ) -> tuple[dict[str, Any], ReferenceStats, pa.Table | None, Node | None]:
        from ..data import TableProfile

        if isinstance(reference, TableProfile):
            return {"kind": "profile"}, ReferenceStats.from_profile(reference), None, None
        if reference is None:
            dv = self._training_dataset(mv)
            if dv is None:
                raise InvalidInput(
                    f"model version {mv.ref} has no training dataset in its lineage; pass "
                    "reference= (a dataset ref or a table)",
                    details={"model": mv.ref},
                )
            reference = dv
        if isinstance(reference, str):
            reference = self.ws.datasets.get(reference)
        if getattr(getattr(reference, "lineage_node", None), "kind", None) == "dataset_version":
            dv = reference
            table = dv.to_arrow()
            stats = ReferenceStats.from_table(table)
            return (
                {"kind": "dataset_version", "id": dv.id, "ref": dv.ref, "rows": table.num_rows},
                stats,
                table,
                dv.lineage_node,
            )
        from ..data import as_arrow_table

        table = as_arrow_table(reference)
        return (
            {"kind": "table", "rows": table.num_rows},
            ReferenceStats.from_table(table),
            table,
            None,
        )

    def _training_dataset(self, mv: Any) -> Any:
        for td in self.ws.models.training_data(mv):
            if td.dataset_version_id:
                return self.ws.datasets.get(td.dataset_version_id)
        graph = self.ws.lineage.upstream(mv, depth=3)
        for key in graph.keys("dataset_version"):
            return self.ws.datasets.get(key.split(":", 1)[1])
        return None

    def _prediction_reference(
        self, mv: Any, table: pa.Table, cols: builtins.list[str]
    ) -> dict[str, dict[str, Any]]:
        predictor = self.ws.models.load(mv.ref)
        sample = table.slice(0, PREDICTION_REFERENCE_ROWS)
        names = _signature_columns(mv) or cols
        frame = sample.select([c for c in names if c in sample.column_names]).to_pandas()
        pred = np.asarray(predictor.predict(frame)).reshape(len(frame), -1)[:, 0]
        stats = ReferenceStats.from_table(pa.table({"predict": pred}))
        col = stats.columns["predict"]
        col["output"] = True
        # the reference size of the monitored table decides the test, not the sample
        return {OUT_PREFIX + "predict": col}

    def _task(self, mv: Any) -> str | None:
        report = self.ws.models.latest_report(mv)
        if report and report.get("task"):
            return str(report["task"])
        return None

    # ================================================================== read
    def get(self, name: str) -> Monitor:
        with self.ws.db.read() as conn:
            r = conn.execute(
                sa.select(monitors).where(sa.or_(monitors.c.name == name, monitors.c.id == name))
            ).first()
            if r is None:
                names = [x[0] for x in conn.execute(sa.select(monitors.c.name))]
        if r is None:
            raise NotFound(
                f"no monitor {name!r} (monitors {did_you_mean(names)}; create one with "
                "ws.monitors.create)",
                details={"name": name},
            )
        return _monitor(r)

    def list(self, model: str | None = None) -> builtins.list[Monitor]:
        q = sa.select(monitors).order_by(monitors.c.name)
        if model:
            q = q.where(monitors.c.model == model)
        with self.ws.db.read() as conn:
            return [_monitor(r) for r in conn.execute(q)]

    def reference(self, name: str) -> ReferenceStats:
        m = self.get(name)
        return self._load_reference(m)

    def _load_reference(self, m: Monitor) -> ReferenceStats:
        if m.reference_digest is None:
            raise InvalidInput(f"monitor {m.name!r} has no reference statistics")
        cached = self._refs.get(m.reference_digest)
        if cached is None:
            cached = ReferenceStats.from_dict(
                json.loads(self.ws.blobs.get_bytes(m.reference_digest))
            )
            self._refs[m.reference_digest] = cached
        return cached

    def update(
        self,
        name: str,
        *,
        rules: builtins.list[str] | None = None,
        notifiers: builtins.list[dict[str, Any]] | None = None,
        cooldown: str | int | None = None,
        thresholds: dict[str, float] | None = None,
        server_url: str | None = None,
    ) -> Monitor:
        m = self.get(name)
        cfg = dict(m.config)
        if rules is not None:
            cfg["rules"] = [parse_rule(r, m.columns).text for r in rules]
        if notifiers is not None:
            cfg["notifiers"] = [check_notifier(n) for n in notifiers]
        if cooldown is not None:
            cfg["cooldown_s"] = parse_duration(cooldown, "cooldown") if cooldown else 0
        if thresholds is not None:
            cfg["thresholds"] = dict(thresholds)
        if server_url is not None:
            cfg["server_url"] = server_url
        with self.ws.db.write() as conn:
            conn.execute(monitors.update().where(monitors.c.id == m.id).values(config=cfg))
        return self.get(name)

    def delete(self, name: str) -> None:
        m = self.get(name)
        with self.ws.db.write() as conn:
            for t in (monitor_alerts, monitor_checks, monitor_label_files):
                conn.execute(t.delete().where(t.c.monitor_id == m.id))
            conn.execute(monitors.delete().where(monitors.c.id == m.id))
        self.ws.lineage.remove(m)

    # ================================================================== checks
    def run(
        self,
        name: str,
        *,
        end: datetime | None = None,
        start: datetime | None = None,
    ) -> dict[str, Any]:
        """Check the window ``[end - window, end)`` (default: the last window up to now).

        Stores and returns the check: drift per column and for the prediction, the
        dataset-level drift share, service health, live performance when labels
        exist (else an estimate from confidences), and the alerts that changed state.
        An empty window is reported as ``status="no_data"``, never as drift.
        """
        t0 = time.perf_counter()
        m = self.get(name)
        end = as_utc(end) if end is not None else utcnow()
        start = as_utc(start) if start is not None else end - timedelta(seconds=m.window_s)
        ref = self._load_reference(m)
        in_cols = {IN_PREFIX + c: c for c in m.columns or []}
        out_cols = {c: c for c in ref.columns if c.startswith(OUT_PREFIX)}
        table = read_prediction_logs(
            self.ws,
            m.model,
            m.version,
            start,
            end,
            [*in_cols, *out_cols],
            deployment=m.deployment,
        )
        cfg = m.config
        drift = compute_drift(
            ref,
            table,
            columns={**in_cols, **out_cols},
            tests=cfg.get("tests"),
            thresholds=cfg.get("thresholds"),
            drift_share=cfg.get("drift_share", 0.5),
        )
        result = drift.to_dict()
        cols = result["columns"]
        feature_cols = {k: v for k, v in cols.items() if not k.startswith(OUT_PREFIX)}
        pred = {k[len(OUT_PREFIX) :]: v for k, v in cols.items() if k.startswith(OUT_PREFIX)}
        scored = [v for v in feature_cols.values() if v["rows"] > 0]
        share = (sum(v["drifted"] for v in scored) / len(scored)) if scored else None
        metrics: dict[str, Any] = {
            "rows": table.num_rows,
            "drift_share": share,
            "drifted_columns": len([v for v in scored if v["drifted"]]),
            "columns": feature_cols,
        }
        if "predict" in pred and pred["predict"]["rows"]:
            metrics["prediction_drift"] = 1.0 if pred["predict"]["drifted"] else 0.0
            metrics["prediction_psi"] = pred["predict"]["psi"]
        health = health_summary(self.ws, m.model, m.version, start, end, m.deployment)
        if health:
            h = _merge_health(health)
            metrics.update({k: h[k] for k in _HEALTH_KEYS if h.get(k) is not None})
        perf = self._performance(m, start, end)
        if perf:
            metrics.update({k: v for k, v in perf.items() if isinstance(v, int | float)})
        down = self._probe(m)
        if down is not None:
            metrics["down_s"] = down["down_s"]
            metrics["server_up"] = bool(down["up"])
        status = "no_data" if table.num_rows == 0 else ("drift" if drift.dataset_drift else "ok")
        check_id = new_id()
        now = utcnow()
        body = {
            "columns": feature_cols,
            "prediction": pred,
            "drifted_columns": [k for k, v in feature_cols.items() if v["drifted"]],
            "drift_share_threshold": drift.threshold,
            "health": health,
            "performance": perf,
            "server": down,
            "reference": m.reference,
        }
        dataset_drift = None if share is None else share >= drift.threshold
        if status != "no_data":
            status = "drift" if dataset_drift else "ok"
        duration = time.perf_counter() - t0
        with self.ws.db.write() as conn:
            conn.execute(
                monitor_checks.insert().values(
                    id=check_id,
                    monitor_id=m.id,
                    window_start=start,
                    window_end=end,
                    rows=table.num_rows,
                    status=status,
                    drift_share=share,
                    dataset_drift=dataset_drift,
                    result=_jsonable(body),
                    duration_s=duration,
                    created_at=now,
                )
            )
            conn.execute(monitors.update().where(monitors.c.id == m.id).values(last_run_at=now))
        check = {
            "id": check_id,
            "monitor": m.name,
            "status": status,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "rows": table.num_rows,
            "drift_share": share,
            "dataset_drift": dataset_drift,
            "duration_s": duration,
            **body,
        }
        if status == "no_data":
            check["message"] = (
                f"no data: no prediction logs of {m.model} between {start.isoformat()} "
                f"and {end.isoformat()}"
            )
        check["alerts"] = self._evaluate_alerts(m, check_id, metrics, check, table, end)
        check.pop("_retrain_runs", None)
        return check

    def run_due(self, now: datetime | None = None) -> builtins.list[dict[str, Any]]:
        """Run every monitor whose schedule has a tick since its last run."""
        from croniter import croniter

        now = as_utc(now) if now is not None else utcnow()
        out = []
        for m in self.list():
            if not m.schedule:
                continue
            last = m.last_run_at or m.created_at
            nxt = croniter(m.schedule, last).get_next(datetime)
            if as_utc(nxt) <= now:
                out.append(self.run(m.name, end=now))
        return out

    def checks(self, name: str, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Stored checks, newest first."""
        m = self.get(name)
        with self.ws.db.read() as conn:
            rows = conn.execute(
                sa.select(monitor_checks)
                .where(monitor_checks.c.monitor_id == m.id)
                .order_by(monitor_checks.c.created_at.desc(), monitor_checks.c.id.desc())
                .limit(limit)
            ).all()
        return [_check_dict(r) for r in rows]

    def status(self, name: str) -> dict[str, Any]:
        m = self.get(name)
        last = self.checks(name, 1)
        return {
            "monitor": m.to_dict(),
            "last_check": last[0] if last else None,
            "firing": self.alerts(name, state="firing"),
        }

    def _probe(self, m: Monitor) -> dict[str, Any] | None:
        url = m.config.get("server_url")
        if not url:
            return None
        r = probe(url)
        since = m.config.get("down_since")
        if r["up"]:
            new_since = None
            r["down_s"] = 0.0
        else:
            new_since = since or r["at"].isoformat()
            r["down_s"] = (r["at"] - datetime.fromisoformat(new_since)).total_seconds()
            r["down_since"] = new_since
        r["at"] = r["at"].isoformat()
        if new_since != since:
            cfg = {**m.config, "down_since": new_since}
            with self.ws.db.write() as conn:
                conn.execute(monitors.update().where(monitors.c.id == m.id).values(config=cfg))
        return r

    # ================================================================== alerts
    def alerts(
        self, name: str | None = None, state: str | None = None, limit: int = 200
    ) -> builtins.list[dict[str, Any]]:
        """Alert history (firing and resolved), newest first."""
        q = (
            sa.select(monitor_alerts, monitors.c.name.label("monitor_name"))
            .join(monitors, monitors.c.id == monitor_alerts.c.monitor_id)
            .order_by(monitor_alerts.c.fired_at.desc(), monitor_alerts.c.id.desc())
            .limit(limit)
        )
        if name is not None:
            q = q.where(monitors.c.id == self.get(name).id)
        if state is not None:
            q = q.where(monitor_alerts.c.state == state)
        with self.ws.db.read() as conn:
            return [_alert_dict(r, r.monitor_name) for r in conn.execute(q)]

    def _evaluate_alerts(
        self,
        m: Monitor,
        check_id: str,
        metrics: dict[str, Any],
        check: dict[str, Any],
        table: pa.Table,
        now: datetime,
    ) -> builtins.list[dict[str, Any]]:
        changed: builtins.list[dict[str, Any]] = []
        cooldown = timedelta(seconds=int(m.config.get("cooldown_s") or 0))
        for text in m.rules:
            rule = parse_rule(text)
            value = rule.metric_of(metrics)
            if value is None:
                continue  # not measurable in this window (no labels, no server…)
            holds = rule.holds(value)
            with self.ws.db.write() as conn:
                open_row = conn.execute(
                    sa.select(monitor_alerts).where(
                        monitor_alerts.c.monitor_id == m.id,
                        monitor_alerts.c.rule == rule.text,
                        monitor_alerts.c.state == "firing",
                    )
                ).first()
                if holds and open_row is not None:
                    conn.execute(
                        monitor_alerts.update()
                        .where(monitor_alerts.c.id == open_row.id)
                        .values(value=value)
                    )
                    continue  # de-duplicated: already firing
                if holds:
                    last = conn.execute(
                        sa.select(monitor_alerts.c.resolved_at)
                        .where(
                            monitor_alerts.c.monitor_id == m.id,
                            monitor_alerts.c.rule == rule.text,
                            monitor_alerts.c.state == "resolved",
                        )
                        .order_by(monitor_alerts.c.resolved_at.desc())
                        .limit(1)
                    ).first()
                    if last is not None and as_utc(last[0]) + cooldown > now:
                        changed.append(
                            {
                                "rule": rule.text,
                                "state": "suppressed",
                                "value": value,
                                "reason": "cool-down",
                            }
                        )
                        continue
                    aid = new_id()
                    conn.execute(
                        monitor_alerts.insert().values(
                            id=aid,
                            monitor_id=m.id,
                            rule=rule.text,
                            state="firing",
                            value=value,
                            check_id=check_id,
                            fired_at=now,
                            resolved_at=None,
                            notified_at=None,
                            details={},
                        )
                    )
                    event = ("firing", aid)
                elif open_row is not None:
                    conn.execute(
                        monitor_alerts.update()
                        .where(monitor_alerts.c.id == open_row.id)
                        .values(state="resolved", resolved_at=now, value=value)
                    )
                    event = ("resolved", open_row.id)
                else:
                    continue
            state, aid = event
            if state == "firing":
                node = Node("alert", aid, f"{m.name}: {rule.text}")
                self.ws.lineage.created(node)
                self.ws.lineage.record(m, node, "raised")
                deps = self._deployments(m)
                if deps:
                    self.ws.lineage.record_many([(d, node, "alerted") for d in deps])
                check["deployments"] = [d.label for d in deps]
            sent = self._notify(m, rule, state, aid, value, check, table)
            with self.ws.db.write() as conn:
                row = conn.execute(
                    sa.select(monitor_alerts.c.details).where(monitor_alerts.c.id == aid)
                ).first()
                details = dict(row[0]) if row else {}
                details.setdefault("notifications", []).extend(sent)
                conn.execute(
                    monitor_alerts.update()
                    .where(monitor_alerts.c.id == aid)
                    .values(notified_at=utcnow(), details=_jsonable(details))
                )
            changed.append({"id": aid, "rule": rule.text, "state": state, "value": value})
        return changed

    def _deployments(self, m: Monitor) -> builtins.list[Node]:
        """Deployment nodes serving the monitored version (those named by the monitor)."""
        vid = m.config.get("model_version_id")
        if not vid:
            return []
        try:
            graph = self.ws.lineage.downstream(Node("model_version", vid), depth=1)
        except ShipyardError:
            return []
        nodes = [graph.nodes[k] for k in graph.keys("deployment")]
        if m.deployment is not None:
            nodes = [n for n in nodes if n.label == m.deployment]
        return nodes

    def _payload(
        self, m: Monitor, rule: Rule, state: str, aid: str, value: float, check: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "alert_id": aid,
            "state": state,
            "rule": rule.text,
            "value": value,
            "monitor": {"id": m.id, "name": m.name},
            "model": m.model,
            "model_version": m.config.get("model_version"),
            "model_version_id": m.config.get("model_version_id"),
            "deployment": m.deployment,
            "deployments": check.get("deployments", []),
            "reference": m.reference,
            "check_id": check["id"],
            "window": {"start": check["window_start"], "end": check["window_end"]},
            "drift_share": check.get("drift_share"),
            "drifted_columns": check.get("drifted_columns", []),
            "links": {"monitor": f"/monitoring/{m.id}"},
        }

    def _notify(
        self,
        m: Monitor,
        rule: Rule,
        state: str,
        aid: str,
        value: float,
        check: dict[str, Any],
        table: pa.Table,
    ) -> builtins.list[dict[str, Any]]:
        payload = _jsonable(self._payload(m, rule, state, aid, value, check))
        sent: builtins.list[dict[str, Any]] = []
        for n in m.notifiers or [{"type": "log"}]:
            kind = n["type"]
            try:
                if kind == "log":
                    log.warning("alert %s %s: %s (value %s)", state, m.name, rule.text, value)
                    sent.append({"type": "log", "ok": True})
                elif kind == "webhook":
                    sent.append(post_webhook(n["url"], payload, float(n.get("timeout", 5))))
                elif kind == "pipeline" and state == "firing":
                    sent.append(self._retrain(m, n, aid, check))
            except ShipyardError as exc:
                sent.append({"type": kind, "ok": False, "error": str(exc)})
            except Exception as exc:  # a notifier never breaks a check
                log.exception("notifier %s failed", kind)
                sent.append({"type": kind, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return sent

    def _retrain(
        self, m: Monitor, n: dict[str, Any], aid: str, check: dict[str, Any]
    ) -> dict[str, Any]:
        """Commit the window's data (with labels when known) and run the pipeline on it.

        One run per check and pipeline: alerts firing together share it.
        """
        done = check.setdefault("_retrain_runs", {})
        if n["target"] in done:
            shared = done[n["target"]]
            run_node = Node("pipeline_run", shared["run_id"], shared["pipeline"])
            self.ws.lineage.record(Node("alert", aid, m.name), run_node, "triggered")
            return {**shared, "shared": True}
        start = datetime.fromisoformat(check["window_start"])
        end = datetime.fromisoformat(check["window_end"])
        frame = self.window_data(m.name, start, end)
        if frame.num_rows == 0:
            return {"type": "pipeline", "ok": False, "error": "the window has no rows"}
        ds_name = str(n.get("dataset") or f"{m.name}-window")
        dv = self.ws.datasets.commit(
            ds_name,
            frame,
            message=f"window {check['window_start']} .. {check['window_end']} of {m.name}",
            tags={"monitor": m.name, "alert": aid},
            allow_empty=True,
        )
        alert_node = Node("alert", aid, m.name)
        self.ws.lineage.record(alert_node, dv, "captured")
        params = dict(n.get("params") or {})
        params[str(n.get("param", "dataset"))] = dv.ref
        run = self.ws.pipelines.run(
            n["target"], params=params, executor=str(n.get("executor", "inline"))
        )
        self.ws.lineage.record(alert_node, run, "triggered")
        done[n["target"]] = out = {
            "type": "pipeline",
            "ok": run.status == "succeeded",
            "run_id": run.id,
            "pipeline": run.pipeline,
            "status": run.status,
            "dataset": dv.ref,
        }
        return out

    def window_data(
        self, name: str, start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """The monitored input columns of a window (original names), plus labels if any."""
        m = self.get(name)
        cols = [IN_PREFIX + c for c in m.columns or []]
        t = read_prediction_logs(
            self.ws,
            m.model,
            m.version,
            start,
            end,
            ["request_id", "row", *cols],
            deployment=m.deployment,
        )
        labels = self._labels(m)
        data = t.rename_columns(
            [c[len(IN_PREFIX) :] if c.startswith(IN_PREFIX) else c for c in t.column_names]
        )
        target = m.config.get("target") or "label"
        if labels is not None and t.num_rows:
            import duckdb

            con = duckdb.connect()
            con.register("d", data)
            con.register("l", labels)
            data = con.sql(
                f'SELECT d.*, l.label AS "{target}" FROM d LEFT JOIN l USING (request_id, "row")'
            ).to_arrow_table()
            if isinstance(data, pa.RecordBatchReader):
                data = data.read_all()
            con.close()
        return data.drop_columns(["request_id", "row"])

    # ================================================================== labels
    def log_labels(
        self,
        name: str,
        request_ids: builtins.list[str],
        labels: builtins.list[Any],
        rows: builtins.list[int] | None = None,
    ) -> int:
        """Ground truth arriving later, keyed by request id (and row, default 0)."""
        m = self.get(name)
        if len(request_ids) != len(labels) or (rows is not None and len(rows) != len(labels)):
            raise InvalidInput(
                f"log_labels needs as many labels as request ids ({len(request_ids)} ids, "
                f"{len(labels)} labels)"
            )
        if not request_ids:
            return 0
        table = pa.table(
            {
                "request_id": pa.array([str(r) for r in request_ids], pa.string()),
                "row": pa.array(rows if rows is not None else [0] * len(labels), pa.int32()),
                "label": pa.array([_plain(v) for v in labels]),
            }
        )
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        digest = self.ws.blobs.put_bytes(buf.getvalue())
        with self.ws.db.write() as conn:
            conn.execute(
                monitor_label_files.insert().values(
                    id=new_id(),
                    monitor_id=m.id,
                    rows=table.num_rows,
                    digest=digest,
                    created_at=utcnow(),
                )
            )
        return table.num_rows

    def _labels(self, m: Monitor) -> pa.Table | None:
        with self.ws.db.read() as conn:
            digests = [
                r[0]
                for r in conn.execute(
                    sa.select(monitor_label_files.c.digest)
                    .where(monitor_label_files.c.monitor_id == m.id)
                    .order_by(monitor_label_files.c.created_at)
                )
            ]
        if not digests:
            return None
        tables = [pq.read_table(io.BytesIO(self.ws.blobs.get_bytes(d))) for d in digests]
        t = pa.concat_tables(tables, promote_options="permissive")
        # the latest label of a (request, row) wins
        import duckdb

        con = duckdb.connect()
        con.register("t", t)
        out = con.sql(
            'SELECT request_id, "row", last(label) AS label FROM '
            "(SELECT *, row_number() OVER () AS n FROM t) "
            'GROUP BY request_id, "row"'
        ).to_arrow_table()
        con.close()
        return out.read_all() if isinstance(out, pa.RecordBatchReader) else out

    def performance(
        self, name: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """Live metrics on labelled rows of a window, against the version's evaluation."""
        m = self.get(name)
        return self._performance(m, start, end) or {"labelled": 0}

    def _performance(
        self, m: Monitor, start: datetime | None, end: datetime | None
    ) -> dict[str, Any] | None:
        labels = self._labels(m)
        logs = None
        out: dict[str, Any] = {}
        if labels is not None:
            in_cols = [IN_PREFIX + c for c in m.columns or []]
            logs = read_prediction_logs(
                self.ws,
                m.model,
                m.version,
                start,
                end,
                ["request_id", "row", OUT_PREFIX + "predict", *in_cols],
                deployment=m.deployment,
            )
            import duckdb

            con = duckdb.connect()
            con.register("p", logs)
            con.register("l", labels)
            joined = con.sql(
                'SELECT p.*, l.label AS "__y" FROM p JOIN l USING (request_id, "row")'
            ).to_arrow_table()
            con.close()
            y = np.asarray(joined.column("__y").to_numpy(zero_copy_only=False))
            pred = np.asarray(joined.column(OUT_PREFIX + "predict").to_numpy(zero_copy_only=False))
            if len(y):
                out.update(_live_metrics(y, pred, m.config.get("task")))
                out["labelled"] = len(y)
                auc = self._auc(m, joined.select(in_cols), y)
                if auc is not None:
                    out["roc_auc"] = auc
        report = self.ws.models.latest_report(self._version_ref(m))
        if report:
            base = {
                k: v
                for k, v in (report.get("metrics") or {}).items()
                if k in ("accuracy", "f1", "auc", "rmse", "mae") and isinstance(v, int | float)
            }
            out["evaluation"] = base
            if "accuracy" in out and "accuracy" in base:
                out["accuracy_drop"] = float(base["accuracy"] - out["accuracy"])
        est = self._estimate(m, start, end)
        if est is not None:
            out["estimated_accuracy"] = est
        return out or None

    def _auc(self, m: Monitor, inputs: pa.Table, y: np.ndarray) -> float | None:
        """ROC AUC of a binary classifier on labelled rows (scores recomputed from inputs)."""
        if m.config.get("task") == "regression" or len(np.unique(y)) != 2:
            return None
        try:
            from sklearn.metrics import roc_auc_score

            predictor = self.ws.models.load(self._version_ref(m))
            if not predictor.has_proba:
                return None
            frame = inputs.rename_columns(
                [c[len(IN_PREFIX) :] for c in inputs.column_names]
            ).to_pandas()
            proba = np.asarray(predictor.predict_proba(frame))
            classes = [str(_plain(c)) for c in (predictor.classes or sorted(set(y.tolist())))]
            pos = str(_plain(sorted(set(y.tolist()))[-1]))
            idx = classes.index(pos) if pos in classes else proba.shape[1] - 1
            yb = np.asarray([str(_plain(v)) == pos for v in y], dtype=int)
            return float(roc_auc_score(yb, proba[:, idx]))
        except Exception:
            return None

    def _version_ref(self, m: Monitor) -> str:
        return f"{m.model}@{m.config.get('model_version') or m.version}"

    def _estimate(self, m: Monitor, start: datetime | None, end: datetime | None) -> float | None:
        """Expected accuracy from predicted probabilities (calibrated classifiers)."""
        if m.config.get("task") == "regression":
            return None
        cols = [IN_PREFIX + c for c in m.columns or []]
        t = read_prediction_logs(
            self.ws, m.model, m.version, start, end, cols, deployment=m.deployment
        )
        if t.num_rows == 0:
            return None
        try:
            predictor = self.ws.models.load(self._version_ref(m))
            if not predictor.has_proba:
                return None
            frame = t.rename_columns([c[len(IN_PREFIX) :] for c in t.column_names]).to_pandas()
            proba = np.asarray(predictor.predict_proba(frame))
        except Exception:
            return None
        if proba.ndim != 2 or not len(proba):
            return None
        return float(proba.max(axis=1).mean())

    # ================================================================== health
    def health(
        self, name: str, start: datetime | None = None, end: datetime | None = None
    ) -> builtins.list[dict[str, Any]]:
        m = self.get(name)
        end = as_utc(end) if end is not None else utcnow()
        start = as_utc(start) if start is not None else end - timedelta(seconds=m.window_s)
        return health_summary(self.ws, m.model, m.version, start, end, m.deployment)


_HEALTH_KEYS = ("request_rate", "error_rate", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms")


def _merge_health(rows: builtins.list[dict[str, Any]]) -> dict[str, Any]:
    if len(rows) == 1:
        return rows[0]
    total = sum(r["requests"] for r in rows) or 1
    out: dict[str, Any] = {
        "request_rate": sum(r["request_rate"] for r in rows),
        "error_rate": sum(r["error_rate"] * r["requests"] for r in rows) / total,
    }
    for k in ("p50_latency_ms", "p95_latency_ms", "p99_latency_ms"):
        vals = [r[k] for r in rows if r[k] is not None]
        out[k] = max(vals) if vals else None
    return out


def _live_metrics(y: np.ndarray, pred: np.ndarray, task: str | None) -> dict[str, float]:
    regression = task == "regression" or (
        task is None and pred.dtype.kind == "f" and len(np.unique(pred)) > 20
    )
    if regression:
        err = pred.astype(float) - y.astype(float)
        return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}
    ys = np.asarray([str(_plain(v)) for v in y])
    ps = np.asarray([str(_plain(v)) for v in pred])
    out = {"accuracy": float(np.mean(ys == ps))}
    labels = sorted(set(ys) | set(ps))
    f1s = []
    for lab in labels[-1:] if len(labels) <= 2 else labels:
        tp = float(np.sum((ps == lab) & (ys == lab)))
        fp = float(np.sum((ps == lab) & (ys != lab)))
        fn = float(np.sum((ps != lab) & (ys == lab)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    out["f1"] = float(np.mean(f1s))
    return out


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _signature_columns(mv: Any) -> builtins.list[str] | None:
    sig = getattr(mv, "signature", None)
    if sig is None:
        return None
    d = sig.to_dict()
    inputs = d.get("inputs") or d.get("columns")
    if isinstance(inputs, list):
        names = [str(i["name"]) for i in inputs if isinstance(i, dict) and i.get("name")]
        return names or None
    if isinstance(inputs, dict):
        return list(inputs) or None
    return None


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float):
        return v if np.isfinite(v) else None
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    if isinstance(v, datetime):
        return v.isoformat()
    return v
