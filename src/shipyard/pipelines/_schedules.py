"""Schedules: run a pipeline on a cron expression; a scheduler loop triggers due ticks.

Every tick is claimed in the database before its run starts: a row with a unique
``(schedule_id, tick_at)``. Two schedulers racing for the same tick both try to
insert it; exactly one succeeds and runs the pipeline, the other moves on.

Catch-up policy for ticks missed while no scheduler ran: ``latest`` (default) runs
only the most recent missed tick, ``all`` runs each of them, ``none`` skips them and
waits for the next one. Skipped ticks are recorded as such.
"""

from __future__ import annotations

import builtins
import socket
import threading
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.exc import IntegrityError

from ..core import AlreadyExists, InvalidInput, NotFound, did_you_mean, new_id, validate_name
from ._loader import load_target
from .tables import pipeline_schedule_ticks, pipeline_schedules

CATCHUP = ("latest", "all", "none")
MAX_CATCHUP = 1000


def _now() -> datetime:
    return datetime.now(UTC)


class Schedules:
    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def add(
        self,
        target: str,
        cron: str,
        *,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        executor: str = "local",
        catchup: str = "latest",
        start_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Schedule ``FILE.py:PIPELINE`` on *cron* (5-field cron, UTC)."""
        if not croniter.is_valid(cron):
            raise InvalidInput(
                f"invalid cron expression {cron!r}: use 5 fields, minute hour day month "
                "weekday, e.g. '0 * * * *' for hourly",
                details={"cron": cron},
            )
        if catchup not in CATCHUP:
            raise InvalidInput(f"invalid catchup {catchup!r}: choose one of {', '.join(CATCHUP)}")
        pipe = load_target(target)
        pipe.bind_params(params)
        name = validate_name(name or pipe.name, "schedule")
        row = {
            "id": new_id(),
            "name": name,
            "target": pipe.target or target,
            "cron": cron,
            "params": dict(params or {}),
            "executor": executor,
            "catchup": catchup,
            "enabled": True,
            "created_at": _now(),
            "start_at": start_at or _now(),
        }
        try:
            with self._ws.db.write() as conn:
                conn.execute(pipeline_schedules.insert().values(**row))
        except IntegrityError:
            raise AlreadyExists(
                f"a schedule named {name!r} exists already; remove it first "
                f"(shipyard pipelines schedule rm {name}) or pass another --name",
                details={"name": name},
            ) from None
        return row

    def list(self) -> builtins.list[dict[str, Any]]:
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(pipeline_schedules).order_by(pipeline_schedules.c.name)
            ).all()
            last = dict(
                conn.execute(
                    sa.select(
                        pipeline_schedule_ticks.c.schedule_id,
                        sa.func.max(pipeline_schedule_ticks.c.tick_at),
                    ).group_by(pipeline_schedule_ticks.c.schedule_id)
                ).all()
            )
        out = []
        for r in rows:
            d = dict(r._mapping)
            d["last_tick"] = last.get(r.id)
            d["next_tick"] = croniter(r.cron, max(_now(), r.start_at)).get_next(datetime)
            out.append(d)
        return out

    def get(self, name: str) -> dict[str, Any]:
        with self._ws.db.read() as conn:
            row = conn.execute(
                sa.select(pipeline_schedules).where(
                    sa.or_(pipeline_schedules.c.name == name, pipeline_schedules.c.id == name)
                )
            ).first()
        if row is None:
            raise NotFound(
                f"no schedule {name!r}; {did_you_mean([s['name'] for s in self.list()])}",
                details={"name": name},
            )
        return dict(row._mapping)

    def remove(self, name: str) -> None:
        sched = self.get(name)
        with self._ws.db.write() as conn:
            conn.execute(
                pipeline_schedule_ticks.delete().where(
                    pipeline_schedule_ticks.c.schedule_id == sched["id"]
                )
            )
            conn.execute(pipeline_schedules.delete().where(pipeline_schedules.c.id == sched["id"]))

    def ticks(self, name: str) -> builtins.list[dict[str, Any]]:
        sched = self.get(name)
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(pipeline_schedule_ticks)
                .where(pipeline_schedule_ticks.c.schedule_id == sched["id"])
                .order_by(pipeline_schedule_ticks.c.tick_at)
            ).all()
        return [dict(r._mapping) for r in rows]

    # ---------------------------------------------------------------- scheduling
    def due(
        self, sched: dict[str, Any], now: datetime
    ) -> tuple[builtins.list[datetime], builtins.list[datetime]]:
        """(ticks to run, ticks to skip) for *sched* at *now*, after its last claimed tick."""
        with self._ws.db.read() as conn:
            last = conn.execute(
                sa.select(sa.func.max(pipeline_schedule_ticks.c.tick_at)).where(
                    pipeline_schedule_ticks.c.schedule_id == sched["id"]
                )
            ).scalar()
        start = last or sched["start_at"]
        it = croniter(sched["cron"], start)
        ticks: builtins.list[datetime] = []
        while len(ticks) < MAX_CATCHUP:
            t = it.get_next(datetime)
            if t > now:
                break
            ticks.append(t)
        if not ticks:
            return [], []
        policy = sched["catchup"]
        if policy == "all":
            return ticks, []
        if policy == "none":
            # Only a tick within the last minute counts as "now"; older ones are missed.
            fresh = [t for t in ticks if (now - t).total_seconds() < 60]
            return fresh[-1:], [t for t in ticks if t not in fresh[-1:]]
        return ticks[-1:], ticks[:-1]

    def claim(
        self, sched: dict[str, Any], tick: datetime, by: str, status: str = "claimed"
    ) -> bool:
        """Insert the tick row; True only for the one caller that inserted it."""
        try:
            with self._ws.db.write() as conn:
                conn.execute(
                    pipeline_schedule_ticks.insert().values(
                        schedule_id=sched["id"],
                        tick_at=tick,
                        claimed_by=by,
                        claimed_at=_now(),
                        status=status,
                    )
                )
            return True
        except IntegrityError:
            return False

    def _mark(self, sched_id: str, tick: datetime, **values: Any) -> None:
        with self._ws.db.write() as conn:
            conn.execute(
                pipeline_schedule_ticks.update()
                .where(pipeline_schedule_ticks.c.schedule_id == sched_id)
                .where(pipeline_schedule_ticks.c.tick_at == tick)
                .values(**values)
            )

    def run_due(self, now: datetime | None = None, *, by: str | None = None) -> builtins.list[str]:
        """Trigger every due tick of every enabled schedule once; return the run ids."""
        now = now or _now()
        by = by or f"{socket.gethostname()}:{threading.get_ident()}"
        runs = []
        for sched in self.list():
            if not sched["enabled"]:
                continue
            run_ticks, skip_ticks = self.due(sched, now)
            for t in skip_ticks:
                self.claim(sched, t, by, status="skipped")
            for t in run_ticks:
                if not self.claim(sched, t, by):
                    continue
                try:
                    run = self._ws.pipelines.run(
                        sched["target"],
                        params=sched["params"],
                        executor=sched["executor"],
                        schedule_id=sched["id"],
                    )
                except Exception as exc:
                    self._mark(
                        sched["id"], t, status="failed", error=f"{type(exc).__name__}: {exc}"
                    )
                    continue
                self._mark(sched["id"], t, status="started", run_id=run.id)
                runs.append(run.id)
        return runs


class Scheduler:
    """A loop that calls ``run_due`` every *interval* seconds until stopped."""

    def __init__(self, ws: Any, interval: float = 15.0) -> None:
        self.ws = ws
        self.interval = interval
        self._stop = threading.Event()
        self.identity = f"{socket.gethostname()}:{new_id()}"

    def run_forever(self, on_runs: Any = None) -> None:
        while not self._stop.is_set():
            runs = self.ws.pipelines.schedules.run_due(by=self.identity)
            if runs and on_runs is not None:
                on_runs(runs)
            self._stop.wait(self.interval)

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run_forever, daemon=True, name="shipyard-scheduler")
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
