"""Pipelines: DAG workflows of steps, with caching, resume, schedules.

>>> import shipyard as sy
>>> @sy.step
... def double(x: int) -> int:
...     return 2 * x
>>> @sy.pipeline
... def flow(x: int = 1):
...     return double(double(x))
>>> run = flow.run(params={"x": 3}, executor="inline", ws=ws)  # doctest: +SKIP
"""

from ._dag import Dag, MissingInput, Output, Pipeline, PipelineCycle, Step, pipeline, step
from ._execute import current_workspace
from ._loader import load_target, parse_params
from ._materializers import (
    MATERIALIZERS,
    Materializer,
    UnmaterializableOutput,
    register_materializer,
)
from ._records import PipelineRun, StepRun
from ._schedules import Scheduler, Schedules
from ._service import Pipelines

__all__ = [
    "MATERIALIZERS",
    "Dag",
    "Materializer",
    "MissingInput",
    "Output",
    "Pipeline",
    "PipelineCycle",
    "PipelineRun",
    "Pipelines",
    "Scheduler",
    "Schedules",
    "Step",
    "StepRun",
    "UnmaterializableOutput",
    "current_workspace",
    "load_target",
    "parse_params",
    "pipeline",
    "register_materializer",
    "step",
]
