"""Hyperparameter tuning: studies of trials, sampled and pruned by Optuna, run on compute.

>>> import shipyard as sy
>>> def objective(params, trial):
...     for epoch in range(10):
...         score = train_one_epoch(params)
...         trial.report(score, epoch)
...         if trial.should_prune():
...             raise sy.TrialPruned()
...     return {"val_auc": score}
>>> study = ws.studies.create("churn-gbm", objective,
...     {"lr": sy.loguniform(1e-3, 0.3), "depth": sy.integer(2, 8)},
...     metric="val_auc", direction="maximize", sampler="tpe", pruner="asha", n_trials=40)
>>> study.optimize().best_params
"""

from typing import TYPE_CHECKING, Any

from ._space import (
    Choice,
    Dimension,
    Integer,
    InvalidSpace,
    LogUniform,
    Space,
    Uniform,
    choice,
    integer,
    loguniform,
    uniform,
)
from ._trial import Trial, TrialPruned

if TYPE_CHECKING:
    from ._driver import StudyFailed
    from ._records import TrialRecord
    from ._registry import PRUNERS, SAMPLERS, UnknownPruner, UnknownSampler
    from ._service import Studies
    from ._study import Study

# Optuna (and what needs it) loads on first use, so ``import shipyard`` stays light.
_LAZY = {
    "StudyFailed": "._driver",
    "TrialRecord": "._records",
    "PRUNERS": "._registry",
    "SAMPLERS": "._registry",
    "UnknownPruner": "._registry",
    "UnknownSampler": "._registry",
    "Studies": "._service",
    "Study": "._study",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, __name__), name)


__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "Choice",
    "Dimension",
    "Integer",
    "InvalidSpace",
    "LogUniform",
    "Space",
    "Studies",
    "Study",
    "StudyFailed",
    "Trial",
    "TrialPruned",
    "TrialRecord",
    "Uniform",
    "UnknownPruner",
    "UnknownSampler",
    "choice",
    "integer",
    "loguniform",
    "uniform",
]
