"""Shipyard: from raw data to a monitored production model, in one package.

>>> import shipyard as sy
>>> ws = sy.Workspace()          # ./.shipyard: SQLite + a local blob folder

The foundation (Workspace, errors, references) is imported eagerly; each service's
public names are imported on first use, so ``import shipyard`` stays cheap for worker
processes and the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from ._workspace import Workspace
from .core import (
    AlreadyExists,
    BlobCorrupted,
    ConfigurationError,
    Conflict,
    InvalidInput,
    InvalidReference,
    MissingExtra,
    NotFound,
    Ref,
    Settings,
    ShipyardError,
    ShipyardWarning,
    StorageError,
    parse_ref,
)
from .store import Graph, Node

# name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        ["Entity", "Feature", "FeatureService", "FeatureView", "OnDemandFeatureView", "on_demand"],
        "shipyard.features",
    ),
    "Resources": "shipyard.compute",
    **dict.fromkeys(["pipeline", "step"], "shipyard.pipelines"),
    **dict.fromkeys(
        [
            "Directional",
            "EvaluationReport",
            "Invariance",
            "MinimumFunctionality",
            "Suite",
            "evaluate",
        ],
        "shipyard.evaluation",
    ),
    **dict.fromkeys(["GateFailed", "ModelVersion", "Predictor", "Signature"], "shipyard.registry"),
    **dict.fromkeys(["Run", "autolog"], "shipyard.tracking"),
    **dict.fromkeys(
        ["Trial", "TrialPruned", "choice", "integer", "loguniform", "uniform"], "shipyard.tuning"
    ),
}
_SUBMODULES = frozenset(
    {
        "export",
        "data",
        "labels",
        "features",
        "pipelines",
        "compute",
        "tracking",
        "tuning",
        "registry",
        "evaluation",
        "store",
        "core",
    }
)

if TYPE_CHECKING:
    from .compute import Resources
    from .evaluation import (
        Directional,
        EvaluationReport,
        Invariance,
        MinimumFunctionality,
        Suite,
        evaluate,
    )
    from .features import (
        Entity,
        Feature,
        FeatureService,
        FeatureView,
        OnDemandFeatureView,
        on_demand,
    )
    from .pipelines import pipeline, step
    from .registry import GateFailed, ModelVersion, Predictor, Signature
    from .tracking import Run, autolog
    from .tuning import Trial, TrialPruned, choice, integer, loguniform, uniform


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "AlreadyExists",
    "BlobCorrupted",
    "ConfigurationError",
    "Conflict",
    "Directional",
    "Entity",
    "EvaluationReport",
    "Feature",
    "FeatureService",
    "FeatureView",
    "GateFailed",
    "Graph",
    "InvalidInput",
    "InvalidReference",
    "Invariance",
    "MinimumFunctionality",
    "MissingExtra",
    "ModelVersion",
    "Node",
    "NotFound",
    "OnDemandFeatureView",
    "Predictor",
    "Ref",
    "Resources",
    "Run",
    "Settings",
    "ShipyardError",
    "ShipyardWarning",
    "Signature",
    "StorageError",
    "Suite",
    "Trial",
    "TrialPruned",
    "Workspace",
    "__version__",
    "autolog",
    "choice",
    "evaluate",
    "integer",
    "loguniform",
    "on_demand",
    "parse_ref",
    "pipeline",
    "step",
    "uniform",
]
