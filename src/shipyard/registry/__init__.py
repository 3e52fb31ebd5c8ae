"""The model registry (``ws.models``): versions, flavors, signatures, aliases, cards.

>>> v = ws.models.register("churn", model, datasets=[train_df], input_example=X[:5])
>>> ws.models.set_alias("churn", "champion", version=v.version, reason="first model")
>>> ws.models.load("churn@champion").predict_proba(X)
"""

from ._datasets import ResolvedData, column_stats, resolve_dataset, row_hashes
from ._model import (
    AliasMove,
    GateFailed,
    ModelVersion,
    Predictor,
    Promotion,
    RegisteredModel,
    TrainingData,
)
from ._registry import GateOutcome, ModelRegistry, PromotionGate
from ._signature import ColumnSpec, Signature, TensorSpec, to_columns
from .flavors import (
    Flavor,
    LoadedModel,
    OnnxFlavor,
    SavedModel,
    available_flavors,
    register_flavor,
)

__all__ = [
    "AliasMove",
    "ColumnSpec",
    "Flavor",
    "GateFailed",
    "GateOutcome",
    "LoadedModel",
    "ModelRegistry",
    "ModelVersion",
    "OnnxFlavor",
    "Predictor",
    "Promotion",
    "PromotionGate",
    "RegisteredModel",
    "ResolvedData",
    "SavedModel",
    "Signature",
    "TensorSpec",
    "TrainingData",
    "available_flavors",
    "column_stats",
    "register_flavor",
    "resolve_dataset",
    "row_hashes",
    "to_columns",
]
