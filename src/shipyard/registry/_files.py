"""Reading a model from a file or folder (run artifacts, the CLI's ``--file``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core import InvalidInput

_SUFFIXES = {
    ".onnx": "onnx",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
}


def find_model_file(path: Path) -> Path:
    """*path* itself, or the one model file inside the folder *path*."""
    if path.is_file():
        return path
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        if len(found) == 1:
            return found[0]
        if not found:
            raise InvalidInput(
                f"no model file in {path}: expected one of {', '.join(sorted(_SUFFIXES))}",
                details={"path": str(path)},
            )
        raise InvalidInput(
            f"{path} holds several model files ({', '.join(p.name for p in found[:5])}); "
            "name the file itself",
            details={"path": str(path)},
        )
    raise InvalidInput(f"no such model file or folder: {path}", details={"path": str(path)})


def read_model_file(path: str | os.PathLike[str]) -> tuple[Any, str | None]:
    """Load a model object from a file; returns ``(model, flavor hint)``."""
    p = find_model_file(Path(path))
    kind = _SUFFIXES.get(p.suffix.lower())
    if kind == "onnx":
        return p.read_bytes(), "onnx"
    if kind == "pytorch":
        import torch

        from .flavors._pytorch import _quiet

        try:
            with _quiet():
                return torch.jit.load(str(p), map_location="cpu"), "pytorch"
        except RuntimeError:
            pass
        try:
            return torch.load(str(p), map_location="cpu", weights_only=False), "pytorch"
        except Exception as exc:
            raise InvalidInput(f"cannot load the PyTorch file {p}: {exc}") from None
    if kind == "pickle":
        import joblib

        try:
            return joblib.load(p), None
        except Exception as exc:
            raise InvalidInput(
                f"cannot unpickle the model file {p}: {type(exc).__name__}: {exc}; it must be "
                "written with pickle/joblib by the same library versions",
                details={"path": str(p)},
            ) from None
    raise InvalidInput(
        f"unknown model file type {p.suffix!r} ({p}); use one of {', '.join(sorted(_SUFFIXES))}",
        details={"path": str(p)},
    )
