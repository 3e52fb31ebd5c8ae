"""Experiment tracking: runs with params, tags, buffered metrics, artifacts and lineage.

>>> with ws.start_run(experiment="churn", params={"model": "rf"}) as run:
...     run.log_metric("auc", 0.91)
>>> ws.runs.search(filter="metrics.auc > 0.9 and params.model in ('rf', 'gbm')")
"""

from ._autolog import autolog
from ._filter import parse_filter, parse_order_by
from ._run import Artifact, Run
from ._series import Series, lttb_indices, minmax_indices
from ._service import (
    Comparison,
    Experiment,
    Experiments,
    RunPage,
    Runs,
    active_run,
)
from ._torch import TorchLogger

__all__ = [
    "Artifact",
    "Comparison",
    "Experiment",
    "Experiments",
    "Run",
    "RunPage",
    "Runs",
    "Series",
    "TorchLogger",
    "active_run",
    "autolog",
    "lttb_indices",
    "minmax_indices",
    "parse_filter",
    "parse_order_by",
]
