"""Feature definitions in Python: entities, features, feature views, on-demand views, services.

Definitions are plain values; ``ws.features.apply([...])`` validates them against their
sources and registers them with versions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..core import InvalidInput, validate_name

DTYPES: dict[str, str] = {
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
"""Declared feature types and the DuckDB type each is read as."""

_ALIASES = {"int": "int64", "float": "float64", "str": "string", "double": "float64"}


def normalize_dtype(dtype: str, where: str) -> str:
    d = _ALIASES.get(str(dtype).lower(), str(dtype).lower())
    if d not in DTYPES:
        raise InvalidInput(
            f"{where}: unknown feature type {dtype!r}; use one of {', '.join(DTYPES)}",
            details={"dtype": dtype},
        )
    return d


@dataclass(frozen=True)
class Feature:
    """One named, typed feature column (``Feature("tenure_days", "int64")``)."""

    name: str
    dtype: str = "float64"
    description: str = ""

    def __post_init__(self) -> None:
        validate_name(self.name, "feature")
        object.__setattr__(self, "dtype", normalize_dtype(self.dtype, f"feature {self.name!r}"))

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "dtype": self.dtype, "description": self.description}


@dataclass(frozen=True)
class Entity:
    """What features describe, and the columns that identify it (``customer_id``)."""

    name: str
    join_keys: Sequence[str] = ()
    description: str = ""

    def __post_init__(self) -> None:
        validate_name(self.name, "entity")
        keys = list(self.join_keys) or [f"{self.name}_id"]
        for k in keys:
            validate_name(k, "join key")
        if len(set(keys)) != len(keys):
            raise InvalidInput(f"entity {self.name!r} repeats a join key: {keys}")
        object.__setattr__(self, "join_keys", tuple(keys))


def _features(features: Iterable[Feature | str], where: str) -> tuple[Feature, ...]:
    out = tuple(f if isinstance(f, Feature) else Feature(str(f)) for f in features)
    names = [f.name for f in out]
    if not out:
        raise InvalidInput(f"{where} declares no features; list at least one Feature(...)")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(f"{where} declares feature(s) twice: {', '.join(dupes)}")
    return out


@dataclass(frozen=True)
class FeatureView:
    """Features of one or more entities, read from a Parquet source or a dataset version.

    ``source``: a Parquet file, folder or glob, an fsspec URL (``s3://…``), or a dataset
    reference (``"churn@3"``). ``timestamp`` names the event-time column;
    ``created_timestamp`` (optional) breaks ties between rows with the same event time.
    ``ttl``: a value older than this (relative to the lookup time) counts as missing.
    ``online``: materialize into the online store. ``history``: how many of the latest
    values per entity the online store keeps for sequence features (1: the latest only;
    read them with ``ws.features.get_online_history``).
    """

    name: str
    entities: Sequence[Entity | str]
    source: str
    features: Sequence[Feature | str]
    timestamp: str = "event_time"
    created_timestamp: str | None = None
    ttl: timedelta | None = None
    online: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    history: int = 1

    def __post_init__(self) -> None:
        validate_name(self.name, "feature view")
        where = f"feature view {self.name!r}"
        if not self.entities:
            raise InvalidInput(f"{where} names no entity; pass entities=[Entity(...)]")
        if not isinstance(self.source, str) or not self.source.strip():
            raise InvalidInput(
                f"{where} has no source; pass a Parquet path/URL or a dataset reference"
            )
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "features", _features(self.features, where))
        object.__setattr__(self, "tags", dict(self.tags))
        if self.ttl is not None and (
            not isinstance(self.ttl, timedelta) or self.ttl <= timedelta(0)
        ):
            raise InvalidInput(f"{where}: ttl must be a positive timedelta, got {self.ttl!r}")
        if not isinstance(self.history, int) or not 1 <= self.history <= 1000:
            raise InvalidInput(f"{where}: history must be an integer from 1 to 1000")
        reserved = {self.timestamp, self.created_timestamp}
        for f in self.feature_list:
            if f.name in reserved:
                raise InvalidInput(
                    f"{where}: {f.name!r} is the timestamp column and cannot be a feature"
                )

    @property
    def feature_list(self) -> list[Feature]:
        return [f for f in self.features if isinstance(f, Feature)]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.feature_list]


OnDemandFunction = Callable[[dict[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class OnDemandFeatureView:
    """Features computed at request time from request data and other features.

    ``function`` receives a dict of equal-length numpy arrays (the ``inputs`` features
    under their feature names, plus the ``request`` fields) and returns a dict of arrays,
    one per declared output feature. The same function runs offline (over a whole
    training set) and online (over the looked-up rows), so both paths agree.
    """

    name: str
    inputs: Sequence[str]
    features: Sequence[Feature | str]
    function: OnDemandFunction
    request: Sequence[Feature | str] = ()
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_name(self.name, "on-demand feature view")
        where = f"on-demand feature view {self.name!r}"
        if not callable(self.function):
            raise InvalidInput(f"{where}: function must be callable")
        object.__setattr__(self, "features", _features(self.features, where))
        object.__setattr__(
            self,
            "request",
            tuple(f if isinstance(f, Feature) else Feature(str(f)) for f in self.request),
        )
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "tags", dict(self.tags))
        if not self.inputs and not self.request:
            raise InvalidInput(f"{where} has neither inputs nor request fields")

    @property
    def feature_list(self) -> list[Feature]:
        return [f for f in self.features if isinstance(f, Feature)]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.feature_list]

    @property
    def request_list(self) -> list[Feature]:
        return [f for f in self.request if isinstance(f, Feature)]

    @property
    def source_code(self) -> str:
        try:
            return inspect.getsource(self.function)
        except (OSError, TypeError):
            return repr(self.function)


def on_demand(
    *,
    inputs: Sequence[str],
    features: Sequence[Feature | str],
    request: Sequence[Feature | str] = (),
    name: str | None = None,
    description: str = "",
) -> Callable[[OnDemandFunction], OnDemandFeatureView]:
    """Decorator form of :class:`OnDemandFeatureView` (the function's name is the view's)."""

    def wrap(fn: OnDemandFunction) -> OnDemandFeatureView:
        return OnDemandFeatureView(
            name=name or fn.__name__,
            inputs=inputs,
            features=features,
            function=fn,
            request=request,
            description=description or (fn.__doc__ or "").strip(),
        )

    return wrap


@dataclass(frozen=True)
class FeatureService:
    """A named, versioned set of features that one model consumes.

    ``features`` items: a FeatureView or OnDemandFeatureView (all its features), a view
    name, or ``"view:feature"`` / ``"view@2:feature"``.
    """

    name: str
    features: Sequence[FeatureView | OnDemandFeatureView | str]
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_name(self.name, "feature service")
        if not self.features:
            raise InvalidInput(f"feature service {self.name!r} lists no features")
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "tags", dict(self.tags))


Definition = Entity | FeatureView | OnDemandFeatureView | FeatureService


def load_definitions(path: str) -> list[Definition]:
    """Run a Python file and collect the definitions it creates at module level.

    Module-level Entity/FeatureView/OnDemandFeatureView/FeatureService objects (and
    lists or tuples of them) are collected, in order of appearance.
    """
    import runpy
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no definitions file at {path!r}; pass a Python file")
    try:
        namespace = runpy.run_path(str(p), run_name="shipyard_features")
    except Exception as exc:
        raise InvalidInput(
            f"running the definitions file {path!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    kinds = (Entity, FeatureView, OnDemandFeatureView, FeatureService)
    found: list[Definition] = []
    seen: set[int] = set()
    for value in namespace.values():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, kinds) and id(item) not in seen:
                seen.add(id(item))
                found.append(item)
    if not found:
        raise InvalidInput(
            f"the definitions file {path!r} defines no Entity, FeatureView, "
            "OnDemandFeatureView or FeatureService at module level"
        )
    return found
