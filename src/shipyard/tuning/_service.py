"""``ws.studies``: create, get and list hyperparameter studies."""

from __future__ import annotations

import builtins
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ..compute import EXECUTORS, Resources, UnknownExecutor
from ..core import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    did_you_mean,
    is_id,
    new_id,
    utcnow,
    validate_name,
)
from ._registry import check_pruner, check_sampler
from ._space import Space
from ._study import Study, _check_positive_int
from .tables import tuning_studies

DIRECTIONS = ("maximize", "minimize")


class Studies:
    """The studies of a workspace (``ws.studies``)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def create(
        self,
        name: str,
        objective: Callable[..., Any] | Any,
        space: Mapping[str, Any] | Space,
        metric: str | Sequence[str] = "val_auc",
        direction: str | Sequence[str] = "maximize",
        sampler: str = "tpe",
        pruner: str | None = None,
        n_trials: int | None = 50,
        parallelism: int = 2,
        executor: str = "local",
        timeout: float | None = None,
        seed: int | None = None,
        *,
        trial_timeout: float | None = None,
        experiment: str | None = None,
        resources: Resources | Mapping[str, Any] | None = None,
        sampler_options: Mapping[str, Any] | None = None,
        pruner_options: Mapping[str, Any] | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> Study:
        """Create a study (it runs on ``study.optimize()``).

        *objective* is ``objective(params, trial)`` returning the metric (a number, or a
        dict holding *metric*), or a pipeline whose parameters are the space's keys.
        *pruner* defaults to ``"asha"`` (``"none"`` for two metrics). With
        ``sampler="grid"``, ``n_trials=None`` means the whole grid.
        """
        name = validate_name(name, "study")
        if not callable(objective) and not hasattr(objective, "bind_params"):
            raise InvalidInput(
                f"study {name!r}: the objective must be a function objective(params, trial) "
                f"or a pipeline, got {type(objective).__name__}"
            )
        sp = Space(space)
        if not sp.dimensions:
            raise InvalidInput(
                f"study {name!r}: the search space has no searched parameter; use "
                "sy.uniform, sy.loguniform, sy.integer or sy.choice"
            )
        metrics = [metric] if isinstance(metric, str) else list(metric)
        directions = [direction] if isinstance(direction, str) else list(direction)
        if not metrics or len(metrics) > 2 or not all(isinstance(m, str) and m for m in metrics):
            raise InvalidInput(
                f"study {name!r}: metric must be one metric name or two (multi-objective), "
                f"got {metric!r}"
            )
        if len(set(metrics)) != len(metrics):
            raise InvalidInput(f"study {name!r}: the metrics repeat: {metrics}")
        if len(directions) == 1 and len(metrics) == 2:
            directions = directions * 2
        if len(directions) != len(metrics) or any(d not in DIRECTIONS for d in directions):
            raise InvalidInput(
                f"study {name!r}: direction must be 'maximize' or 'minimize' for each of "
                f"{metrics}, got {direction!r}"
            )
        check_sampler(sampler)
        if pruner is None:
            pruner = "asha" if len(metrics) == 1 else "none"
        check_pruner(pruner)
        if len(metrics) > 1 and pruner != "none":
            raise InvalidInput(
                f"study {name!r}: pruner {pruner!r} compares one metric, but the study "
                f"optimizes {metrics}; use pruner='none'"
            )
        if len(metrics) > 1 and sampler == "cmaes":
            raise InvalidInput(
                f"study {name!r}: the cmaes sampler optimizes one metric; for "
                f"{metrics} use sampler='nsga2' or 'tpe'"
            )
        if sampler == "grid":
            size = sp.grid_size()
            if n_trials is not None:
                n_trials = min(_check_positive_int(n_trials, "n_trials"), size)
            else:
                n_trials = size
        elif n_trials is None:
            raise InvalidInput(f"study {name!r}: n_trials is required for sampler {sampler!r}")
        _check_positive_int(n_trials, "n_trials")
        _check_positive_int(parallelism, "parallelism")
        if not isinstance(executor, str) or executor not in EXECUTORS:
            raise UnknownExecutor(
                f"study {name!r}: unknown executor {executor!r}: {did_you_mean(list(EXECUTORS))}"
            )
        for what, v in (("timeout", timeout), ("trial_timeout", trial_timeout)):
            if v is not None and (
                isinstance(v, bool)
                or not isinstance(v, numbers.Real)
                or not math.isfinite(v)
                or v <= 0
            ):
                raise InvalidInput(f"study {name!r}: {what} must be seconds > 0, got {v!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInput(f"study {name!r}: seed must be an integer, got {seed!r}")
        if hasattr(objective, "bind_params"):
            pipe: Any = objective
            if sorted(set(sp.spec) - set(pipe.signature.parameters)):
                pipe.bind_params({k: None for k in sp.spec})  # raises, naming them
        if isinstance(resources, Mapping):
            resources = Resources.from_dict(dict(resources))
        options: dict[str, Any] = {
            "sampler": dict(sampler_options or {}),
            "pruner": dict(pruner_options or {}),
            "executor": dict(executor_options or {}),
        }
        if resources is not None:
            options["resources"] = resources.to_dict()
        # build the sampler and pruner now, so bad options fail here, not mid-study
        from ._registry import make_pruner, make_sampler

        make_sampler(sampler, seed, len(metrics), parallelism, dict(options["sampler"]))
        make_pruner(pruner, dict(options["pruner"]))
        ref, digest = self._store_objective(objective)
        study_id = new_id()
        row = {
            "id": study_id,
            "name": name,
            "experiment": experiment or name,
            "metrics": metrics,
            "directions": directions,
            "space": sp.to_json(),
            "sampler": sampler,
            "pruner": pruner,
            "options": options,
            "n_trials": n_trials,
            "parallelism": parallelism,
            "executor": executor,
            "timeout_s": float(timeout) if timeout is not None else None,
            "trial_timeout_s": float(trial_timeout) if trial_timeout is not None else None,
            "seed": seed,
            "objective": ref,
            "objective_digest": digest,
            "status": "created",
            "error": None,
            "driver": None,
            "heartbeat_at": None,
            "created_at": utcnow(),
            "started_at": None,
            "ended_at": None,
        }
        with self._ws.db.write() as conn:
            exists = conn.execute(
                sa.select(tuning_studies.c.id).where(tuning_studies.c.name == name)
            ).first()
            if exists is not None:
                raise AlreadyExists(
                    f"a study named {name!r} exists already; continue it with "
                    f"ws.studies.get({name!r}).resume() or choose another name",
                    details={"study": name},
                )
            conn.execute(tuning_studies.insert().values(**row))
            from ..store import Node

            self._ws.lineage.created(Node("study", study_id, name), conn=conn)
        return Study(self._ws, _Row(row), objective)

    def _store_objective(self, objective: Any) -> tuple[str, str | None]:
        import cloudpickle

        if hasattr(objective, "bind_params"):
            ref = f"pipeline:{getattr(objective, 'name', '?')}"
        else:
            ref = (
                f"{getattr(objective, '__module__', '?')}:"
                f"{getattr(objective, '__qualname__', type(objective).__name__)}"
            )
        try:
            data = cloudpickle.dumps(objective)
        except Exception:
            return ref, None
        return ref, self._ws.blobs.put_bytes(data)

    def get(self, ref: str) -> Study:
        """A study by name or id."""
        if not isinstance(ref, str) or not ref:
            raise InvalidInput(f"a study reference is a name or an id, got {ref!r}")
        with self._ws.db.read() as conn:
            cond = tuning_studies.c.name == ref
            if is_id(ref):
                cond = sa.or_(cond, tuning_studies.c.id == ref.upper())
            row = conn.execute(sa.select(tuning_studies).where(cond)).first()
            if row is None:
                names = conn.execute(sa.select(tuning_studies.c.name)).scalars().all()
        if row is None:
            raise NotFound(
                f"no study {ref!r} in workspace {self._ws.home}; {did_you_mean(list(names))}",
                details={"study": ref},
            )
        return Study(self._ws, row)

    def list(self) -> builtins.list[Study]:
        """Every study, newest first."""
        with self._ws.db.read() as conn:
            rows = conn.execute(
                sa.select(tuning_studies).order_by(tuning_studies.c.created_at.desc())
            ).all()
        return [Study(self._ws, r) for r in rows]

    def overview(self) -> builtins.list[dict[str, Any]]:
        """One row per study with trial counts and the best value (for listings)."""
        from .tables import tuning_trials

        studies = self.list()
        with self._ws.db.read() as conn:
            counts = conn.execute(
                sa.select(
                    tuning_trials.c.study_id, tuning_trials.c.state, sa.func.count()
                ).group_by(tuning_trials.c.study_id, tuning_trials.c.state)
            ).all()
        by_study: dict[str, dict[str, int]] = {}
        for sid, state, n in counts:
            by_study.setdefault(sid, {})[state] = int(n)
        out = []
        for st in studies:
            c = by_study.get(st.id, {})
            best = None
            if c.get("complete") and not st.multi_objective:
                try:
                    best = st.best_trial
                except NotFound:
                    best = None
            out.append(
                {
                    **st.to_dict(),
                    "counts": c,
                    "finished": sum(c.get(s, 0) for s in ("complete", "pruned", "failed")),
                    "best_value": best.value if best else None,
                    "best_number": best.number if best else None,
                }
            )
        return out

    def __iter__(self) -> Any:
        return iter(self.list())


class _Row:
    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)
