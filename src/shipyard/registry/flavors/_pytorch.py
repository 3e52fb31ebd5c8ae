"""PyTorch modules: the module's class (importable) + its state_dict, or TorchScript.

An ``nn.Module`` whose class can be imported is stored as ``class path + init kwargs +
state_dict`` (weights only: loading never unpickles code). The class is rebuilt with
``flavor_options={"init_kwargs": {...}}`` (or the module's own ``init_kwargs``
attribute); registration checks the round trip right away. Modules whose class cannot
be imported (defined in ``__main__`` or a function) are compiled to TorchScript, and
ScriptModules are stored as TorchScript directly.

``flavor_options={"output": "logits"}`` (or ``"probabilities"``) makes the version a
classifier: ``predict`` returns the arg-max class and ``predict_proba`` the softmax
(or the probabilities as they are).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch  # a missing torch fails on import; get_flavor turns that into MissingExtra

from ...core import InvalidInput
from ._base import Flavor, LoadedModel, SavedModel, columns_to_matrix

_OUTPUTS = ("raw", "logits", "probabilities")


class PyTorchFlavor(Flavor):
    name = "pytorch"
    modules = ("torch",)
    extra = "torch"

    def matches(self, model: Any) -> bool:

        return isinstance(model, torch.nn.Module)

    def save(self, model: Any, options: dict[str, Any], input_example: Any) -> SavedModel:

        output = options.get("output", "raw")
        if output not in _OUTPUTS:
            raise InvalidInput(
                f"flavor option output={output!r} is not one of {', '.join(_OUTPUTS)}",
                details={"option": "output"},
            )
        classes = options.get("classes")
        meta: dict[str, Any] = {
            "output": output,
            "classes": classes,
            "torch_version": torch.__version__,
        }
        if isinstance(model, torch.jit.ScriptModule):
            return SavedModel(_script_bytes(model), {**meta, "format": "torchscript"})
        cls = type(model)
        path = f"{cls.__module__}:{cls.__qualname__}"
        init_kwargs = dict(options.get("init_kwargs") or getattr(model, "init_kwargs", None) or {})
        problem = _rebuild_problem(model, path, init_kwargs)
        if problem is None:
            buf = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
            meta.update(format="state_dict", class_path=path, init_kwargs=init_kwargs)
            return SavedModel(buf.getvalue(), meta)
        scripted = _to_torchscript(model, input_example)
        if scripted is None:
            raise InvalidInput(
                f"cannot save the PyTorch module {cls.__qualname__}: {problem}, and it does not "
                "compile to TorchScript; define the class in an importable module and pass "
                "flavor_options={'init_kwargs': {...}}, or pass torch.jit.script(model)",
                details={"model_type": cls.__qualname__},
            )
        return SavedModel(_script_bytes(scripted), {**meta, "format": "torchscript"})

    def load(self, data: bytes, meta: dict[str, Any]) -> LoadedModel:

        buf = io.BytesIO(data)
        if meta.get("format") == "torchscript":
            with _quiet():
                module = torch.jit.load(buf, map_location="cpu")
        else:
            cls = _import(meta["class_path"])
            module = cls(**meta.get("init_kwargs", {}))
            module.load_state_dict(torch.load(buf, map_location="cpu", weights_only=True))
        module.eval()
        output = meta.get("output", "raw")

        def forward(x: Any) -> np.ndarray:
            arr = x if isinstance(x, np.ndarray) and x.dtype != object else columns_to_matrix(x)
            with torch.inference_mode():
                out = module(torch.from_numpy(np.ascontiguousarray(arr)))
            if isinstance(out, (tuple, list)):
                out = out[0]
            return np.asarray(out.detach().cpu().numpy())

        if output == "raw":
            return LoadedModel(forward, None, meta.get("classes"), module)
        classes = meta.get("classes")

        def proba(x: Any) -> np.ndarray:
            out = forward(x)
            if output == "logits":
                out = out - out.max(axis=1, keepdims=True)
                e = np.exp(out)
                out = e / e.sum(axis=1, keepdims=True)
            return out

        def predict(x: Any) -> np.ndarray:
            idx = proba(x).argmax(axis=1)
            return np.asarray(classes)[idx] if classes else idx

        return LoadedModel(predict, proba, classes, module)


def _import(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _rebuild_problem(model: Any, path: str, init_kwargs: dict[str, Any]) -> str | None:
    """None if the class can be imported and rebuilt with the same parameter shapes."""
    if "<locals>" in path or path.startswith("__main__:"):
        return f"its class {path} cannot be imported by another process"
    try:
        cls = _import(path)
    except (ImportError, AttributeError) as exc:
        return f"its class {path} cannot be imported ({exc})"
    try:
        fresh = cls(**init_kwargs)
        fresh.load_state_dict(model.state_dict(), strict=True)
    except Exception as exc:
        return f"{path}(**{init_kwargs!r}) does not accept its state_dict ({str(exc)[:200]})"
    return None


def _to_torchscript(model: Any, example: Any) -> Any:

    try:
        with _quiet():
            return torch.jit.script(model)
    except Exception:
        pass
    if example is None:
        return None
    try:
        x = torch.from_numpy(np.ascontiguousarray(columns_to_matrix(example)))
        with _quiet():
            return torch.jit.trace(model.eval(), x)
    except Exception:
        return None


def _script_bytes(module: Any) -> bytes:

    buf = io.BytesIO()
    with _quiet():
        torch.jit.save(module, buf)
    return buf.getvalue()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """TorchScript still works but warns that it is deprecated; keep that out of users' logs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield
