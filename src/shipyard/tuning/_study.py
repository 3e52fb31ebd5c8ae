"""A study: its settings, its stored trials, running it and reading results."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..core import Conflict, InvalidInput, NotFound, new_id, utcnow
from ..store import Node
from ._records import FINISHED, TrialRecord, record_from_row
from ._space import InvalidSpace, Space
from .tables import tuning_studies, tuning_trials


class Study:
    """One hyperparameter study (``ws.studies.create(...)`` / ``ws.studies.get(name)``).

    ``optimize()`` runs trials until ``n_trials`` exist (the grid is exhausted, the
    timeout passes, or every trial failed); ``resume()`` continues a study whose driver
    stopped. Reading (``trials``, ``best_trial``, ``summary``, ``importances``) never
    writes, so it is safe while another process optimizes.
    """

    def __init__(self, ws: Any, row: Any, objective: Any = None) -> None:
        self._ws = ws
        self._objective = objective
        self._load(row)

    def _load(self, row: Any) -> None:
        self.id: str = row.id
        self.name: str = row.name
        self.experiment: str = row.experiment
        self.metrics: list[str] = list(row.metrics)
        self.directions: list[str] = list(row.directions)
        self.space = Space.from_json(row.space)
        self.sampler: str = row.sampler
        self.pruner: str = row.pruner
        self.options: dict[str, Any] = dict(row.options or {})
        self.n_trials: int = row.n_trials
        self.parallelism: int = row.parallelism
        self.executor: str = row.executor
        self.timeout_s: float | None = row.timeout_s
        self.trial_timeout_s: float | None = row.trial_timeout_s
        self.seed: int | None = row.seed
        self.objective_ref: str = row.objective
        self.objective_digest: str | None = row.objective_digest
        self.status: str = row.status
        self.error: str | None = row.error
        self.driver: dict[str, Any] | None = row.driver
        self.heartbeat_at: datetime | None = row.heartbeat_at
        self.created_at: datetime = row.created_at
        self.started_at: datetime | None = row.started_at
        self.ended_at: datetime | None = row.ended_at

    # ------------------------------------------------------------------ identity
    @property
    def metric(self) -> str:
        return self.metrics[0]

    @property
    def direction(self) -> str:
        return self.directions[0]

    @property
    def multi_objective(self) -> bool:
        return len(self.metrics) > 1

    @property
    def lineage_node(self) -> Node:
        return Node("study", self.id, self.name)

    def __repr__(self) -> str:
        return (
            f"Study(name={self.name!r}, metric={self.metric!r}, direction={self.direction!r}, "
            f"sampler={self.sampler!r}, status={self.status!r})"
        )

    def refresh(self) -> Study:
        with self._ws.db.read() as conn:
            row = conn.execute(
                sa.select(tuning_studies).where(tuning_studies.c.id == self.id)
            ).one()
        self._load(row)
        return self

    # ------------------------------------------------------------------ running
    def _resolve_objective(self, objective: Any) -> Any:
        if objective is not None:
            if not callable(objective) and not hasattr(objective, "bind_params"):
                raise InvalidInput(
                    f"the objective of study {self.name!r} must be a function "
                    "objective(params, trial) or a pipeline, got "
                    f"{type(objective).__name__}"
                )
            self._objective = objective
            return objective
        if self._objective is not None:
            return self._objective
        if self.objective_digest:
            import cloudpickle

            try:
                self._objective = cloudpickle.loads(self._ws.blobs.get_bytes(self.objective_digest))
            except Exception as exc:
                raise InvalidInput(
                    f"cannot load the stored objective of study {self.name!r} "
                    f"({self.objective_ref}): {type(exc).__name__}: {exc}; pass it: "
                    "study.resume(objective)"
                ) from None
            return self._objective
        raise InvalidInput(
            f"study {self.name!r} has no stored objective ({self.objective_ref} could not be "
            "saved); pass it: study.resume(objective)"
        )

    def optimize(
        self, objective: Any = None, *, n_trials: int | None = None, takeover: bool = False
    ) -> Study:
        """Run trials until the study has ``n_trials`` (a new total, if given)."""
        from ._driver import Driver

        fn = self._resolve_objective(objective)
        if n_trials is not None:
            _check_positive_int(n_trials, "n_trials")
            with self._ws.db.write() as conn:
                conn.execute(
                    tuning_studies.update()
                    .where(tuning_studies.c.id == self.id)
                    .values(n_trials=n_trials)
                )
        self.refresh()
        try:
            Driver(self, fn, takeover=takeover).run()
        finally:
            self.refresh()
        return self

    def resume(self, objective: Any = None, *, takeover: bool = False) -> Study:
        """Continue after the driver stopped (even by SIGKILL) up to ``n_trials`` in total.

        Trials the dead driver left running are re-queued and run again; the sampler's
        state is rebuilt from every finished trial.
        """
        return self.optimize(objective, takeover=takeover)

    def enqueue(self, *configs: dict[str, Any]) -> list[int]:
        """Queue known-good configurations; they run first. Returns their trial numbers."""
        if not configs:
            raise InvalidInput("enqueue: give at least one configuration (a dict of params)")
        flats = []
        for cfg in configs:
            if not isinstance(cfg, dict):
                raise InvalidSpace(f"enqueue: a configuration is a dict of params, got {cfg!r}")
            flats.append(self.space.flat_from_params(cfg))
        now = utcnow()
        with self._ws.db.write() as conn:
            row = conn.execute(
                sa.select(tuning_studies.c.status, tuning_studies.c.driver).where(
                    tuning_studies.c.id == self.id
                )
            ).one()
            from ._driver import _alive

            if row.status == "running" and _alive(row.driver):
                raise Conflict(
                    f"study {self.name!r} is running; enqueue configurations before "
                    "optimize() or after it returns",
                    details={"study": self.name},
                )
            top = conn.execute(
                sa.select(sa.func.max(tuning_trials.c.number)).where(
                    tuning_trials.c.study_id == self.id
                )
            ).scalar()
            first = -1 if top is None else int(top)
            numbers = list(range(first + 1, first + 1 + len(flats)))
            conn.execute(
                tuning_trials.insert(),
                [
                    {
                        "id": new_id(),
                        "study_id": self.id,
                        "number": n,
                        "state": "waiting",
                        "source": "enqueued",
                        "params": flat,
                        "attempts": 0,
                        "user_attrs": {},
                        "created_at": now,
                    }
                    for n, flat in zip(numbers, flats, strict=True)
                ],
            )
        return numbers

    # ------------------------------------------------------------------ reading
    def trials(self, state: str | None = None) -> list[TrialRecord]:
        """Every trial by number (optionally one *state*: waiting, running, complete…)."""
        q = sa.select(tuning_trials).where(tuning_trials.c.study_id == self.id)
        if state is not None:
            q = q.where(tuning_trials.c.state == state)
        with self._ws.db.read() as conn:
            rows = conn.execute(q.order_by(tuning_trials.c.number)).all()
        return [record_from_row(r, self.space) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(tuning_trials.c.state, sa.func.count())
                .where(tuning_trials.c.study_id == self.id)
                .group_by(tuning_trials.c.state)
            ).all()
        return {s: int(n) for s, n in rows}

    def _complete(self) -> list[TrialRecord]:
        return [
            t
            for t in self.trials("complete")
            if t.values and all(math.isfinite(v) for v in t.values)
        ]

    @property
    def best_trial(self) -> TrialRecord:
        """The complete trial with the best value (single metric)."""
        if self.multi_objective:
            raise InvalidInput(
                f"study {self.name!r} optimizes {self.metrics}: there is no single best "
                "trial; use study.pareto_front()"
            )
        done = self._complete()
        if not done:
            raise NotFound(
                f"study {self.name!r} has no complete trial yet "
                f"({_counts_text(self.counts())}); run study.optimize()",
                details={"study": self.name},
            )
        key = (lambda t: t.values[0]) if self.direction == "minimize" else (lambda t: -t.values[0])
        return min(done, key=lambda t: (key(t), t.number))

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's params, ready for ``pipe.run(params=...)`` or training."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        v = self.best_trial.value
        assert v is not None
        return v

    def pareto_front(self) -> list[TrialRecord]:
        """Complete trials no other complete trial beats on every metric."""
        done = self._complete()
        signs = [1.0 if d == "minimize" else -1.0 for d in self.directions]

        def dominates(a: TrialRecord, b: TrialRecord) -> bool:
            assert a.values and b.values
            av = [s * v for s, v in zip(signs, a.values, strict=True)]
            bv = [s * v for s, v in zip(signs, b.values, strict=True)]
            return all(x <= y for x, y in zip(av, bv, strict=True)) and av != bv

        return [t for t in done if not any(dominates(o, t) for o in done if o is not t)]

    def importances(self, metric: str | None = None) -> dict[str, float]:
        """Parameter importances (fANOVA) for *metric*, largest first; {} if too few trials."""
        from ._analysis import importances

        return importances(self, metric)

    def history(self) -> list[dict[str, Any]]:
        """Finished trials in order with the best value so far (single metric)."""
        best: float | None = None
        out = []
        sign = -1.0 if self.direction == "maximize" else 1.0
        for t in self.trials():
            if t.state not in FINISHED:
                continue
            v = t.value if t.state == "complete" else None
            if v is not None and math.isfinite(v) and (best is None or sign * v < sign * best):
                best = v
            out.append({"number": t.number, "state": t.state, "value": v, "best": best})
        return out

    def plot(self, kind: str) -> dict[str, Any]:
        """A Plotly figure (as a dict): history, importances, parallel, slice, contour, pareto."""
        from ._analysis import figure

        return figure(self, kind)

    def summary(self) -> dict[str, Any]:
        """Settings, trial counts, the best trial and parameter importances."""
        counts = self.counts()
        data = self.to_dict()
        data["counts"] = counts
        if self.multi_objective:
            data["pareto_front"] = [t.to_dict() for t in self.pareto_front()]
            data["best"] = None
        else:
            try:
                data["best"] = self.best_trial.to_dict()
            except NotFound:
                data["best"] = None
        try:
            data["importances"] = self.importances()
        except Exception:
            data["importances"] = {}
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "metrics": self.metrics,
            "directions": self.directions,
            "metric": self.metric,
            "direction": self.direction,
            "space": self.space.to_json(),
            "sampler": self.sampler,
            "pruner": self.pruner,
            "n_trials": self.n_trials,
            "parallelism": self.parallelism,
            "executor": self.executor,
            "timeout_s": self.timeout_s,
            "trial_timeout_s": self.trial_timeout_s,
            "seed": self.seed,
            "objective": self.objective_ref,
            "status": self.status,
            "error": self.error,
            "driver": self.driver,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


def _counts_text(counts: dict[str, int]) -> str:
    if not counts:
        return "no trials"
    return ", ".join(f"{n} {s}" for s, n in sorted(Counter(counts).items()))


def _check_positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what} must be a whole number >= 1, got {value!r}")
    return value
