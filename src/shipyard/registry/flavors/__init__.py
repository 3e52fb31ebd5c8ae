"""Model flavors: how each kind of model is saved, loaded and called.

Flavors are picked by name from a registry of lazy import paths (the heavy libraries —
torch, onnxruntime, lightgbm — are imported only when a model of that flavor is saved
or loaded). Register your own with :func:`register_flavor`.
"""

from ._base import Flavor, LoadedModel, SavedModel
from ._onnx import OnnxFlavor
from ._registry import available_flavors, detect_flavor, get_flavor, register_flavor

__all__ = [
    "Flavor",
    "LoadedModel",
    "OnnxFlavor",
    "SavedModel",
    "available_flavors",
    "detect_flavor",
    "get_flavor",
    "register_flavor",
]
