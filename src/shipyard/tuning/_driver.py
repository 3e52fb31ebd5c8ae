"""The driver: the one process that asks Optuna, runs trials and writes study state.

Each trial runs on the compute executor (``inline``, ``local``, ``ray``) with at most
``parallelism`` in flight. Trials send ``trial.report`` messages over the executor's
channel; the driver feeds them to its in-memory Optuna study, asks the pruner, and
asks a trial to stop (``request_stop``) when it should be pruned. Every write to the
metadata DB (trial rows, tracked runs, lineage) happens here, in short transactions,
so parallel trials never contend on SQLite.

On start the driver claims the study (a dead driver's claim is taken over), puts the
trials a dead driver left running back in the queue, and rebuilds the sampler's state
by adding every finished stored trial to a fresh in-memory Optuna study.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna
import sqlalchemy as sa
from optuna.trial import TrialState

from ..compute import Resources, TaskCancelled, TaskFailed, get_executor
from ..core import Conflict, ShipyardError, new_id, utcnow
from ._records import TrialRecord, optuna_study, quiet_optuna
from ._registry import make_pruner, make_sampler
from ._space import flatten
from ._trial import execute_trial
from .tables import tuning_studies, tuning_trials

if TYPE_CHECKING:
    from ._study import Study

HEARTBEAT_S = 5.0
PRUNE_GRACE_S = 10.0  # a pruned trial still running after this is stopped by force
STALE_AFTER_S = 60.0
_POLL_S = 0.004


class StudyFailed(ShipyardError):
    """Every trial of a study failed, so it stopped early."""

    http_status = 422


class TrialTimedOut(Exception):
    """Raised inside an inline trial that ran past its ``trial_timeout``."""


@dataclass
class _Live:
    row_id: str
    number: int
    ot: optuna.Trial
    run: Any
    params: dict[str, Any]
    flat: dict[str, Any]
    attempts: int
    source: str
    handle: Any = None
    submitted: float = field(default_factory=time.monotonic)
    intermediate: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    pruned_at: int | None = None
    pruned_mono: float = 0.0
    stop_forced: bool = False
    timed_out: bool = False


def _alive(driver: dict[str, Any] | None) -> bool:
    """Whether the driver that claimed a study is still running (best knowledge)."""
    if not driver:
        return False
    if driver.get("host") == socket.gethostname():
        try:
            os.kill(int(driver["pid"]), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, ValueError, TypeError):
            return True
        return True
    return True  # another host: only the heartbeat can tell


class Driver:
    """Runs one ``optimize`` of *study* with *objective* (see the module docstring)."""

    def __init__(self, study: Study, objective: Any, *, takeover: bool = False) -> None:
        self.study = study
        self.ws = study._ws
        self.objective = objective
        self.takeover = takeover
        self.token = new_id()
        self.metrics: list[str] = list(study.metrics)
        self.live: dict[str, _Live] = {}
        self.waiting: list[TrialRecord] = []
        self._wake = threading.Event()
        self._last_beat = 0.0
        self._grid: list[dict[str, Any]] = []
        self._n_rows = 0
        self._next_number = 0
        self._successes = 0
        self._failures: list[tuple[int, str, str]] = []
        self._stop_reason: str | None = None
        self._deadline: float | None = None
        self._pipeline = _is_pipeline(objective)
        self._pass_trial = _takes_trial(objective)

    # ------------------------------------------------------------------ claim
    def _claim(self) -> list[str]:
        """Claim the study; re-queue trials a dead driver left running. Returns their runs."""
        now = utcnow()
        me = {"token": self.token, "host": socket.gethostname(), "pid": os.getpid()}
        sid = self.study.id
        with self.ws.db.write() as conn:
            row = conn.execute(sa.select(tuning_studies).where(tuning_studies.c.id == sid)).one()
            if row.status == "running" and not self.takeover:
                fresh = row.heartbeat_at and (now - row.heartbeat_at).total_seconds() < (
                    STALE_AFTER_S
                )
                if _alive(row.driver) and fresh:
                    d = row.driver or {}
                    raise Conflict(
                        f"study {row.name!r} is being optimized by another driver (pid "
                        f"{d.get('pid')} on {d.get('host')}); wait for it to finish, or "
                        "resume(takeover=True) if that process is gone",
                        details={"study": row.name, "driver": d},
                    )
            stale = conn.execute(
                sa.select(tuning_trials.c.id, tuning_trials.c.run_id).where(
                    tuning_trials.c.study_id == sid, tuning_trials.c.state == "running"
                )
            ).all()
            if stale:
                conn.execute(
                    tuning_trials.update()
                    .where(tuning_trials.c.study_id == sid, tuning_trials.c.state == "running")
                    .values(
                        state="waiting",
                        source="requeued",
                        run_id=None,
                        started_at=None,
                        intermediate=None,
                        last_step=None,
                        error="re-queued: the driver running this trial stopped before it ended",
                    )
                )
            conn.execute(
                tuning_studies.update()
                .where(tuning_studies.c.id == sid)
                .values(
                    status="running",
                    driver=me,
                    heartbeat_at=now,
                    error=None,
                    ended_at=None,
                    started_at=row.started_at or now,
                )
            )
        return [r.run_id for r in stale if r.run_id]

    def _end_orphan_runs(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            try:
                run = self.ws.runs.get(run_id)
                if run.status in ("running", "lost"):
                    run.end(
                        "failed",
                        error="the tuning driver stopped while this trial ran; the trial "
                        "was re-queued",
                    )
            except ShipyardError:
                pass

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        st = self.study
        records = st.trials()
        self._n_rows = len(records)
        self._next_number = max((r.number for r in records), default=-1) + 1
        self._successes = sum(1 for r in records if r.state in ("complete", "pruned"))
        self.waiting = sorted((r for r in records if r.state == "waiting"), key=lambda r: r.number)
        opts = st.options
        sampler = make_sampler(
            st.sampler, st.seed, len(self.metrics), st.parallelism, dict(opts.get("sampler", {}))
        )
        self.prunes = st.pruner != "none"
        pruner = make_pruner(st.pruner, dict(opts.get("pruner", {})))
        self.ostudy = optuna_study(records, st.space, st.directions, sampler, pruner)
        if st.sampler == "grid":
            seen = {_key(r.flat_params) for r in records}
            grid = [g for g in st.space.grid() if _key(g) not in seen]
            random.Random(st.seed).shuffle(grid)
            self._grid = grid
        res = opts.get("resources")
        self.resources = Resources.from_dict(res) if res else Resources(cpus=1, memory=0)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        orphans = self._claim()
        self._end_orphan_runs(orphans)
        executor = None
        status, error = "completed", None
        try:
            with quiet_optuna():
                self._setup()
                executor = self._executor()
                self._loop(executor)
            if self._stop_reason == "all_failed":
                status, error = "failed", self._all_failed_message()
            elif self._stop_reason == "timeout":
                status = "stopped"
                error = f"stopped after the study timeout of {self.study.timeout_s:g}s"
        except BaseException as exc:
            status = "interrupted"
            error = f"{type(exc).__name__}: {exc}"
            self._abandon_live()
            raise
        finally:
            if executor is not None and not self._pipeline:
                executor.shutdown(wait=False)
            self._write_study_end(status, error)
        if status == "failed":
            raise StudyFailed(error or "all trials failed", details={"study": self.study.name})

    def _executor(self) -> Any:
        if self._pipeline:
            return _ThreadRunner()
        name = self.study.executor
        opts = dict(self.study.options.get("executor", {}))
        if name == "local":
            opts.setdefault("max_workers", self.study.parallelism)
        return get_executor(name, **opts)

    def _loop(self, executor: Any) -> None:
        timeout = self.study.timeout_s
        self._deadline = time.monotonic() + timeout if timeout else None
        parallelism = self.study.parallelism
        while True:
            self._beat()
            while len(self.live) < parallelism and self._can_start():
                self._start(executor)
                self._pump()  # inline trials finished inside submit
            if not self.live:
                return
            if not self._pump():
                self._wake.wait(_POLL_S)
                self._wake.clear()

    def _can_start(self) -> bool:
        if self._stop_reason is not None:
            return False
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._stop_reason = "timeout"
            return False
        if self.waiting:
            return True
        if self.study.sampler == "grid" and not self._grid:
            return False
        return self._n_rows < self.study.n_trials

    # ------------------------------------------------------------------ start
    def _start(self, executor: Any) -> None:
        st = self.study
        enq = self.waiting.pop(0) if self.waiting else None
        if enq is not None:
            self.ostudy.enqueue_trial(enq.flat_params)
            source, number, row_id, attempts = enq.source, enq.number, enq.id, enq.attempts + 1
        else:
            source = "sampler"
            if st.sampler == "grid":
                self.ostudy.enqueue_trial(self._grid.pop(0))
                source = "grid"
            number, row_id, attempts = self._next_number, new_id(), 1
            self._next_number += 1
            self._n_rows += 1
        ot = self.ostudy.ask()
        params = st.space.sample(ot)
        flat = dict(ot.params)
        run = self.ws.runs.start(
            st.experiment,
            name=f"{st.name}-trial-{number}",
            params=flatten(params),
            tags={
                "shipyard.study": st.name,
                "shipyard.study_id": st.id,
                "shipyard.trial": str(number),
            },
            capture_env=False,
        )
        now = utcnow()
        with self.ws.db.write() as conn:
            if enq is None:
                conn.execute(
                    tuning_trials.insert().values(
                        id=row_id,
                        study_id=st.id,
                        number=number,
                        state="running",
                        source=source,
                        params=flat,
                        run_id=run.id,
                        attempts=attempts,
                        user_attrs={},
                        created_at=now,
                        started_at=now,
                    )
                )
            else:
                conn.execute(
                    tuning_trials.update()
                    .where(tuning_trials.c.id == row_id)
                    .values(
                        state="running",
                        params=flat,
                        run_id=run.id,
                        attempts=attempts,
                        started_at=now,
                    )
                )
            self.ws.lineage.record(st.lineage_node, run.lineage_node, "trial", conn=conn)
        live = _Live(row_id, number, ot, run, params, flat, attempts, source)
        self.live[row_id] = live
        info = {
            "number": number,
            "study": st.name,
            "metrics": self.metrics,
            "pass_trial": self._pass_trial,
        }
        if executor.name == "inline":
            deadline = time.monotonic() + st.trial_timeout_s if st.trial_timeout_s else None

            def sink(message: tuple[Any, ...]) -> bool:
                if deadline is not None and time.monotonic() > deadline:
                    live.timed_out = True
                    raise TrialTimedOut(
                        f"trial {number} ran past the trial timeout of {st.trial_timeout_s:g}s"
                    )
                return self._on_message(live, message)

            live.handle = executor.submit(
                execute_trial,
                self.objective,
                params,
                info,
                sink,
                resources=self.resources,
                name=f"{st.name}#{number}",
            )
        elif self._pipeline:
            live.handle = executor.submit(
                _run_pipeline,
                self.ws,
                self.objective,
                params,
                info,
                run.lineage_node,
                st.executor,
            )
        else:
            live.handle = executor.submit(
                execute_trial,
                self.objective,
                params,
                info,
                resources=self.resources,
                name=f"{st.name}#{number}",
            )
        live.handle.add_done_callback(lambda _h: self._wake.set())

    # ------------------------------------------------------------------ messages
    def _pump(self) -> bool:
        """Handle messages, finished trials and timeouts; True if anything happened."""
        busy = False
        timeout = self.study.trial_timeout_s
        for live in list(self.live.values()):
            h = live.handle
            for msg in h.messages():
                busy = True
                self._on_message(live, msg)
            if h.done():
                busy = True
                for msg in h.messages():
                    self._on_message(live, msg)
                self._finish(live)
            elif (
                live.pruned_at is not None
                and not live.stop_forced
                and time.monotonic() - live.pruned_mono > PRUNE_GRACE_S
            ):
                live.stop_forced = True
                h.cancel("pruned")
            elif timeout and not live.timed_out:
                started = h.started_at
                if started is not None and time.time() - started > timeout:
                    live.timed_out = True
                    h.cancel("trial timeout")
        return busy

    def _on_message(self, live: _Live, message: Any) -> bool:
        if not isinstance(message, tuple) or not message:
            return False
        kind = message[0]
        if kind == "report":
            return self._on_report(live, int(message[1]), float(message[2]))
        if kind == "metric":
            _, key, value, step = message
            live.run.log_metric(key, value, step=step)
        elif kind == "attr":
            live.user_attrs[str(message[1])] = message[2]
        return live.pruned_at is not None

    def _on_report(self, live: _Live, step: int, value: float) -> bool:
        if live.pruned_at is not None:
            if step > live.pruned_at + 1 and live.handle is not None and not live.stop_forced:
                # the trial did not see the stop request (its objective ignores
                # should_prune, or the executor cannot deliver it): stop it by force
                live.stop_forced = True
                live.handle.cancel("pruned")
            return True
        if step in live.intermediate:
            return False  # Optuna keeps the first value of a step
        live.intermediate[step] = value
        live.ot.report(value, step)
        live.run.log_metric(self.metrics[0], value, step=step)
        if self.prunes and len(self.metrics) == 1 and live.ot.should_prune():
            live.pruned_at = step
            live.pruned_mono = time.monotonic()
            if live.handle is not None:
                live.handle.request_stop()
            return True
        return False

    # ------------------------------------------------------------------ finish
    def _finish(self, live: _Live) -> None:
        del self.live[live.row_id]
        st = self.study
        values: list[float] | None = None
        extra: dict[str, float] = {}
        error = tb = None
        try:
            out = live.handle.result(0)
        except (TaskFailed, TaskCancelled) as exc:
            if live.stop_forced and not live.timed_out:
                state, error, tb = "pruned", None, None
            else:
                state, error = "failed", exc.message
                tb = exc.remote_traceback if isinstance(exc, TaskFailed) else None
            if live.timed_out:
                error = f"trial {live.number} ran past the trial timeout of {st.trial_timeout_s:g}s"
        else:
            state = out["state"]
            if state == "complete":
                values, extra = out["values"], out.get("metrics", {})
            elif state == "failed":
                error = out["error"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if state == "complete":
                self.ostudy.tell(live.ot, values)
            else:
                self.ostudy.tell(
                    live.ot, state=TrialState.PRUNED if state == "pruned" else TrialState.FAIL
                )
        if state == "failed":
            self._failures.append((live.number, error or "failed", tb or ""))
        else:
            self._successes += 1
        if (
            self._successes == 0
            and len(self._failures)
            >= min(max(st.n_trials, self._n_rows), st.options.get("fail_fast", 5))
            and self._stop_reason is None
        ):
            self._stop_reason = "all_failed"
        run = live.run
        last = max(live.intermediate) if live.intermediate else None
        if values is not None:
            final = dict(zip(self.metrics, values, strict=True))
            # the final value is the metric's last step, after the intermediate reports
            run.log_metrics(final, step=0 if last is None else last + 1)
            if extra:
                run.log_metrics(extra)
        if state == "pruned":
            run.set_tags({"shipyard.trial_state": "pruned"})
        run.end("failed" if state == "failed" else "finished", error=error)
        now = utcnow()
        with self.ws.db.write() as conn:
            conn.execute(
                tuning_trials.update()
                .where(tuning_trials.c.id == live.row_id)
                .values(
                    state=state,
                    metric_values=values,
                    intermediate={str(k): v for k, v in live.intermediate.items()} or None,
                    last_step=last,
                    error=error,
                    traceback=tb,
                    user_attrs=live.user_attrs,
                    ended_at=now,
                )
            )

    def _all_failed_message(self) -> str:
        n = len(self._failures)
        number, first, tb = self._failures[0]
        tail = "\n".join(tb.strip().splitlines()[-6:]) if tb else ""
        return (
            f"all {n} trials of study {self.study.name!r} failed, so it stopped early; "
            f"the first failure (trial {number}): {first}"
            + (f"\n{tail}" if tail else "")
            + "\nfix the objective, then call study.resume()"
        )

    # ------------------------------------------------------------------ bookkeeping
    def _beat(self) -> None:
        mono = time.monotonic()
        if mono - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = mono
        with self.ws.db.write() as conn:
            conn.execute(
                tuning_studies.update()
                .where(tuning_studies.c.id == self.study.id)
                .values(heartbeat_at=utcnow())
            )

    def _abandon_live(self) -> None:
        """Interrupted: stop running trials and put them back in the queue."""
        for live in list(self.live.values()):
            with contextlib.suppress(Exception):
                if live.handle is not None:
                    live.handle.cancel("study interrupted")
            with contextlib.suppress(Exception):
                live.run.end("killed", error="the study was interrupted; the trial was re-queued")
            with contextlib.suppress(Exception), self.ws.db.write() as conn:
                conn.execute(
                    tuning_trials.update()
                    .where(tuning_trials.c.id == live.row_id)
                    .values(state="waiting", source="requeued", run_id=None, started_at=None)
                )
        self.live.clear()

    def _write_study_end(self, status: str, error: str | None) -> None:
        with self.ws.db.write() as conn:
            driver = conn.execute(
                sa.select(tuning_studies.c.driver).where(tuning_studies.c.id == self.study.id)
            ).scalar_one()
            if driver and driver.get("token") != self.token:
                return  # another driver took the study over
            now = utcnow()
            conn.execute(
                tuning_studies.update()
                .where(tuning_studies.c.id == self.study.id)
                .values(status=status, error=error, driver=None, heartbeat_at=now, ended_at=now)
            )


def _key(flat: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, repr(v)) for k, v in flat.items()))


def _is_pipeline(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("bind_params", "build", "run")) and not isinstance(
        obj, type
    )


def _takes_trial(fn: Any) -> bool:
    import inspect

    if _is_pipeline(fn):
        return False
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    positional = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional)


# ---------------------------------------------------------------------- pipelines
def _run_pipeline(
    ws: Any, pipe: Any, params: dict[str, Any], info: dict[str, Any], node: Any, executor: str
) -> dict[str, Any]:
    """A pipeline objective: run it with the trial's params; its result is the metric."""
    from ..store import producing
    from ._trial import Trial, metric_values

    with producing(node):
        prun = ws.pipelines.run(pipe, params=params, executor=executor)
    if getattr(prun, "status", "succeeded") not in ("succeeded", "cached", "completed"):
        return {
            "state": "failed",
            "error": f"pipeline run {prun.id} ended {prun.status}: {prun.error or ''}".strip(),
        }
    trial = Trial(info["number"], params, info["study"], info["metrics"], sink=lambda m: False)
    values, extra, error = metric_values(prun.result, trial, info["metrics"])
    if error is not None:
        return {"state": "failed", "error": f"pipeline {pipe.name!r}: {error}"}
    assert values is not None
    import math

    if not all(math.isfinite(v) for v in values):
        return {"state": "failed", "error": f"pipeline {pipe.name!r} returned {values}"}
    return {"state": "complete", "values": values, "metrics": extra}


class _ThreadTask:
    """A handle-like view of a pipeline trial running in a driver thread."""

    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        from concurrent.futures import Future

        self._future: Future[Any] = Future()
        self.started_at = time.time()
        self._callbacks: list[Any] = []

        def target() -> None:
            import traceback

            try:
                self._future.set_result(fn(*args))
            except BaseException as exc:
                self._future.set_exception(
                    TaskFailed(
                        f"{type(exc).__name__}: {exc}",
                        remote_traceback=traceback.format_exc(),
                        exc_type=type(exc).__name__,
                    )
                )

        threading.Thread(target=target, daemon=True, name="shipyard-trial").start()

    def messages(self) -> list[Any]:
        return []

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Any:
        return self._future.result(timeout)

    def cancel(self, reason: str = "") -> bool:
        return False

    def request_stop(self) -> None:
        return None

    def add_done_callback(self, fn: Any) -> None:
        self._future.add_done_callback(lambda _f: fn(self))


class _ThreadRunner:
    name = "threads"

    def submit(self, fn: Any, *args: Any, **_: Any) -> _ThreadTask:
        return _ThreadTask(fn, args)

    def shutdown(self, wait: bool = True) -> None:
        return None
