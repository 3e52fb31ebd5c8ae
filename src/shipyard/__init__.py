"""Shipyard: from raw data to a monitored production model, in one package.

>>> import shipyard as sy
>>> ws = sy.Workspace()          # ./.shipyard: SQLite + a local blob folder
"""

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
from .features import (
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
    on_demand,
)
from .compute import Resources
from .pipelines import pipeline, step
from .evaluation import (
    Directional,
    EvaluationReport,
    Invariance,
    MinimumFunctionality,
    Suite,
    evaluate,
)
from .registry import GateFailed, ModelVersion, Predictor, Signature
from .store import Graph, Node
from .tracking import Run, autolog
from .tuning import Trial, TrialPruned, choice, integer, loguniform, uniform

__all__ = [
    "AlreadyExists",
    "BlobCorrupted",
    "Directional",
    "EvaluationReport",
    "GateFailed",
    "Invariance",
    "MinimumFunctionality",
    "ModelVersion",
    "Predictor",
    "Signature",
    "Suite",
    "evaluate",
    "ConfigurationError",
    "Conflict",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "Graph",
    "InvalidInput",
    "InvalidReference",
    "MissingExtra",
    "Node",
    "NotFound",
    "OnDemandFeatureView",
    "Ref",
    "Run",
    "Resources",
    "Settings",
    "ShipyardError",
    "ShipyardWarning",
    "StorageError",
    "Trial",
    "TrialPruned",
    "Workspace",
    "__version__",
    "choice",
    "integer",
    "loguniform",
    "autolog",
    "on_demand",
    "parse_ref",
    "pipeline",
    "step",
    "uniform",
]


def __getattr__(name: str) -> object:
    """Submodules loaded on first use: ``sy.export``."""
    if name == "export":
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
