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

from ._driver import StudyFailed
from ._records import TrialRecord
from ._registry import PRUNERS, SAMPLERS, UnknownPruner, UnknownSampler
from ._service import Studies
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
from ._study import Study
from ._trial import Trial, TrialPruned

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
