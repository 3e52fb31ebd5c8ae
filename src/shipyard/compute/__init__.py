"""Compute: run work where resources allow, on one machine or a Ray cluster.

>>> from shipyard.compute import get_executor, Resources
>>> ex = get_executor("local")
>>> h = ex.submit(sum, [1, 2, 3], resources=Resources(cpus=1))
>>> h.result()
6
"""

from ._base import (
    CANCELLED,
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    Executor,
    Handle,
    ResourcesUnavailable,
    TaskCancelled,
    TaskContext,
    TaskFailed,
    current_task,
    report,
    should_stop,
)
from ._jobs import Job, Jobs
from ._registry import EXECUTORS, UnknownExecutor, get_executor, register_executor
from ._resources import Machine, Resources, format_memory, machine, parse_memory

__all__ = [
    "CANCELLED",
    "EXECUTORS",
    "FAILED",
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "Executor",
    "Handle",
    "Job",
    "Jobs",
    "Machine",
    "Resources",
    "ResourcesUnavailable",
    "TaskCancelled",
    "TaskContext",
    "TaskFailed",
    "UnknownExecutor",
    "current_task",
    "format_memory",
    "get_executor",
    "machine",
    "parse_memory",
    "register_executor",
    "report",
    "should_stop",
]
