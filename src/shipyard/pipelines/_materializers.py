"""Materializers: how a step's output becomes bytes in the blob store, and back.

Each materializer says which values it handles (``can``), turns a value into bytes
(``dump``) and bytes into a value (``load``). The registry tries them in order, so
specific types (a DataFrame) win over general ones (any picklable object). Objects
with a ``lineage_node`` of kind ``dataset_version`` or ``run`` pass by reference:
only ``{kind, id}`` is stored and the object is looked up again in the workspace.

Register your own with :func:`register_materializer` (put it before the generic
ones with ``first=True``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core import InvalidInput

_SCALARS = (int, float, str, bool, type(None))


@dataclass(frozen=True)
class Materializer:
    name: str
    can: Callable[[Any], bool]
    dump: Callable[[Any], bytes]
    load: Callable[[bytes], Any]


class UnmaterializableOutput(InvalidInput):
    """A step returned a value no materializer can store."""


def _type_name(value: Any) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


# --------------------------------------------------------------------- json
def _json_safe(value: Any) -> bool:
    if isinstance(value, _SCALARS):
        return not (isinstance(value, float) and value != value)  # NaN is not JSON
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def _json_dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


# --------------------------------------------------------------------- parquet
def _is_pandas(value: Any) -> bool:
    return _module_of(value) == "pandas" and type(value).__name__ == "DataFrame"


def _pandas_dump(value: Any) -> bytes:
    buf = io.BytesIO()
    value.to_parquet(buf)
    return buf.getvalue()


def _pandas_load(data: bytes) -> Any:
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))


def _is_arrow(value: Any) -> bool:
    return _module_of(value) == "pyarrow" and type(value).__name__ == "Table"


def _arrow_dump(value: Any) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(value, buf)
    return buf.getvalue()


def _arrow_load(data: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


def _is_polars(value: Any) -> bool:
    return _module_of(value) == "polars" and type(value).__name__ == "DataFrame"


def _polars_dump(value: Any) -> bytes:
    buf = io.BytesIO()
    value.write_parquet(buf)
    return buf.getvalue()


def _polars_load(data: bytes) -> Any:
    import polars as pl

    return pl.read_parquet(io.BytesIO(data))


# --------------------------------------------------------------------- numpy
def _is_numpy(value: Any) -> bool:
    return _module_of(value) == "numpy" and type(value).__name__ == "ndarray"


def _numpy_dump(value: Any) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return buf.getvalue()


def _numpy_load(data: bytes) -> Any:
    import numpy as np

    return np.load(io.BytesIO(data), allow_pickle=False)


# --------------------------------------------------------------------- torch
def _is_torch_module(value: Any) -> bool:
    if _module_of(value) == "builtins":
        return False
    try:
        import sys

        torch = sys.modules.get("torch")
        return torch is not None and isinstance(value, torch.nn.Module)
    except Exception:
        return False


def _torch_dump(value: Any) -> bytes:
    import cloudpickle
    import torch

    state = io.BytesIO()
    torch.save(value.state_dict(), state)
    # The state_dict is the durable part; the module skeleton is kept (cloudpickle)
    # so that the value loads back as the same module.
    skeleton = cloudpickle.dumps(value)
    return json.dumps({"v": 1}).encode() + b"\n" + _frame(state.getvalue()) + _frame(skeleton)


def _frame(b: bytes) -> bytes:
    return len(b).to_bytes(8, "big") + b


def _torch_load(data: bytes) -> Any:
    import cloudpickle
    import torch

    _header, _, rest = data.partition(b"\n")
    n = int.from_bytes(rest[:8], "big")
    state, rest = rest[8 : 8 + n], rest[8 + n :]
    m = int.from_bytes(rest[:8], "big")
    module = cloudpickle.loads(rest[8 : 8 + m])
    module.load_state_dict(torch.load(io.BytesIO(state), weights_only=True))
    return module


# --------------------------------------------------------------------- joblib / pickle
def _is_sklearn(value: Any) -> bool:
    return _module_of(value) == "sklearn"


def _joblib_dump(value: Any) -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump(value, buf)
    return buf.getvalue()


def _joblib_load(data: bytes) -> Any:
    import joblib

    return joblib.load(io.BytesIO(data))


def _picklable(value: Any) -> bool:
    return True


def _pickle_dump(value: Any) -> bytes:
    import cloudpickle

    return bytes(cloudpickle.dumps(value))


def _pickle_load(data: bytes) -> Any:
    import pickle

    return pickle.loads(data)


MATERIALIZERS: list[Materializer] = [
    Materializer("json", _json_safe, _json_dump, json.loads),
    Materializer("pandas.parquet", _is_pandas, _pandas_dump, _pandas_load),
    Materializer("arrow.parquet", _is_arrow, _arrow_dump, _arrow_load),
    Materializer("polars.parquet", _is_polars, _polars_dump, _polars_load),
    Materializer("numpy.npy", _is_numpy, _numpy_dump, _numpy_load),
    Materializer("torch.state_dict", _is_torch_module, _torch_dump, _torch_load),
    Materializer("sklearn.joblib", _is_sklearn, _joblib_dump, _joblib_load),
    Materializer("cloudpickle", _picklable, _pickle_dump, _pickle_load),
]
"""In the order they are tried; the last one takes any picklable object."""

_BY_NAME = {m.name: m for m in MATERIALIZERS}

REF_KINDS = ("dataset_version", "run")
"""Lineage kinds of objects passed by reference instead of by bytes."""


def register_materializer(m: Materializer, *, first: bool = True) -> None:
    """Add a materializer (tried before the built-ins with *first*)."""
    MATERIALIZERS.insert(0 if first else len(MATERIALIZERS) - 1, m)
    _BY_NAME[m.name] = m


def by_name(name: str) -> Materializer:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InvalidInput(
            f"no materializer named {name!r} is registered in this process; import the "
            "module that registers it before loading the output",
            details={"materializer": name},
        ) from None


def ref_of(value: Any) -> tuple[str, str] | None:
    """``(kind, id)`` for objects passed by reference, else None."""
    node = getattr(value, "lineage_node", None)
    kind = getattr(node, "kind", None)
    if kind in REF_KINDS:
        return str(kind), str(node.id)  # type: ignore[union-attr]
    return None


def dump(value: Any, step: str, output: str) -> tuple[str, bytes]:
    """Serialize *value*: ``(materializer name, bytes)``; clear error when impossible."""
    for m in MATERIALIZERS:
        try:
            ok = m.can(value)
        except Exception:
            ok = False
        if not ok:
            continue
        try:
            return m.name, m.dump(value)
        except Exception as exc:
            if m.name == "json":
                continue
            raise UnmaterializableOutput(
                f"step {step!r} returned {_type_name(value)} as output {output!r}, which "
                f"cannot be stored ({m.name}: {type(exc).__name__}: {exc}); return a "
                "picklable value (a DataFrame, an array, a dict, a model…) or register a "
                "materializer for this type with shipyard.pipelines.register_materializer",
                details={"step": step, "output": output, "type": _type_name(value)},
            ) from None
    raise UnmaterializableOutput(  # pragma: no cover - cloudpickle accepts the rest
        f"step {step!r} returned {_type_name(value)}, which no materializer handles",
        details={"step": step, "type": _type_name(value)},
    )


def load(name: str, data: bytes) -> Any:
    return by_name(name).load(data)


def preview(value: Any, limit: int = 200) -> str:
    """A short human description of an output for the UI."""
    try:
        if isinstance(value, _SCALARS):
            text = repr(value)
        elif hasattr(value, "shape"):
            text = f"{type(value).__name__} shape={tuple(value.shape)}"
        elif isinstance(value, list | tuple | dict | set):
            text = f"{type(value).__name__} of {len(value)}: {value!r}"
        else:
            text = repr(value)
    except Exception:
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
