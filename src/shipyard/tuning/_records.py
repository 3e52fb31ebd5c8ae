"""Stored trials, read back as plain records, and the Optuna study rebuilt from them."""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import optuna
from optuna.trial import TrialState, create_trial

from ._space import Space

STATES = ("waiting", "running", "complete", "pruned", "failed")
FINISHED = ("complete", "pruned", "failed")
_OPTUNA_STATE = {
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAIL,
}


@dataclass
class TrialRecord:
    """One trial as stored: its params, state, values and the tracked run."""

    id: str
    study_id: str
    number: int
    state: str
    source: str
    flat_params: dict[str, Any]
    params: dict[str, Any]
    values: list[float] | None
    intermediate: dict[int, float]
    last_step: int | None
    run_id: str | None
    attempts: int
    error: str | None
    traceback: str | None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def value(self) -> float | None:
        return self.values[0] if self.values else None

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "id": self.id,
            "number": self.number,
            "state": self.state,
            "source": self.source,
            "params": self.params,
            "flat_params": self.flat_params,
            "values": [clean(v) for v in self.values] if self.values else None,
            "value": clean(self.value),
            "intermediate": {str(k): clean(v) for k, v in sorted(self.intermediate.items())},
            "last_step": self.last_step,
            "run_id": self.run_id,
            "attempts": self.attempts,
            "error": self.error,
            "traceback": self.traceback,
            "user_attrs": self.user_attrs,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_s": self.duration_s,
        }


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's per-study INFO logs and experimental-feature warnings."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)


def record_from_row(row: Any, space: Space) -> TrialRecord:
    flat = dict(row.params or {})
    try:
        params = space.params_from_flat(flat)
    except (KeyError, ValueError):
        params = dict(flat)
    return TrialRecord(
        id=row.id,
        study_id=row.study_id,
        number=row.number,
        state=row.state,
        source=row.source,
        flat_params=flat,
        params=params,
        values=[float("nan") if v is None else float(v) for v in row.metric_values]
        if row.metric_values is not None
        else None,
        intermediate={int(k): float(v) for k, v in (row.intermediate or {}).items()},
        last_step=row.last_step,
        run_id=row.run_id,
        attempts=row.attempts,
        error=row.error,
        traceback=row.traceback,
        user_attrs=dict(row.user_attrs or {}),
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def frozen_trial(record: TrialRecord, space: Space) -> optuna.trial.FrozenTrial | None:
    """The record as an Optuna trial (for ``add_trial``), or None if it cannot be one."""
    state = _OPTUNA_STATE.get(record.state)
    if state is None:
        return None
    dims = space.dimensions
    if any(name not in dims for name in record.flat_params):
        return None  # the space changed since: leave it out of the sampler's history
    distributions = {name: dims[name].distribution() for name in record.flat_params}
    values = record.values if state == TrialState.COMPLETE else None
    try:
        return create_trial(
            state=state,
            values=values,
            params=record.flat_params,
            distributions=distributions,
            intermediate_values=dict(record.intermediate),
            user_attrs={"shipyard_number": record.number},
        )
    except ValueError:
        return None


def optuna_study(
    records: list[TrialRecord],
    space: Space,
    directions: list[str],
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """A fresh in-memory Optuna study holding every finished stored trial."""
    with quiet_optuna():
        study = optuna.create_study(
            directions=[optuna.study.StudyDirection[d.upper()] for d in directions],
            sampler=sampler or optuna.samplers.RandomSampler(seed=0),
            pruner=pruner,
        )
    frozen = [ft for r in records if (ft := frozen_trial(r, space)) is not None]
    if frozen:
        study.add_trials(frozen)
    return study
