"""Value objects of the registry: models, versions, alias moves, promotions, the Predictor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ..core import Conflict, InvalidInput
from ..store import Node
from ._signature import Signature
from .flavors import LoadedModel


class GateFailed(Conflict):
    """A promotion gate refused a model version; ``details["checks"]`` lists each check."""


@dataclass(frozen=True)
class RegisteredModel:
    id: str
    name: str
    description: str
    tags: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)

    @property
    def lineage_node(self) -> Node:
        return Node("model", self.id, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "latest_version": self.latest_version,
            "aliases": self.aliases,
        }


@dataclass(frozen=True)
class TrainingData:
    """A dataset a version was trained on: where it came from, its shape and stats."""

    label: str
    dataset_version_id: str | None
    rows: int
    hashed_columns: list[str]
    stats: dict[str, Any]
    row_hashes: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "dataset_version_id": self.dataset_version_id,
            "rows": self.rows,
            "hashed_columns": self.hashed_columns,
            "stats": self.stats,
        }


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered version of a model."""

    id: str
    model_id: str
    name: str
    version: int
    flavor: str
    flavor_meta: dict[str, Any]
    digest: str
    size_bytes: int
    signature: Signature | None
    input_example: Any
    metrics: dict[str, float]
    description: str
    tags: dict[str, Any]
    run_id: str | None
    parent_id: str | None
    producer: str | None
    git_commit: str | None
    git_dirty: bool | None
    status: str
    created_at: datetime
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def lineage_node(self) -> Node:
        return Node("model_version", self.id, self.ref)

    @property
    def model_node(self) -> Node:
        return Node("model", self.model_id, self.name)

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model_id": self.model_id,
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "flavor": self.flavor,
            "flavor_meta": self.flavor_meta,
            "digest": self.digest,
            "size_bytes": self.size_bytes,
            "signature": self.signature.to_dict() if self.signature else None,
            "input_example": self.input_example,
            "metrics": self.metrics,
            "description": self.description,
            "tags": self.tags,
            "run_id": self.run_id,
            "parent_id": self.parent_id,
            "producer": self.producer,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class AliasMove:
    model: str
    alias: str
    seq: int
    from_version: int | None
    to_version: int | None
    reason: str
    moved_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "seq": self.seq,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "reason": self.reason,
            "moved_at": self.moved_at.isoformat(),
        }


@dataclass(frozen=True)
class Promotion:
    id: str
    version: str
    alias: str
    passed: bool
    applied: bool
    forced: bool
    reason: str
    checks: list[dict[str, Any]]
    evaluation_id: str | None
    created_at: datetime

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c.get("passed")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "alias": self.alias,
            "passed": self.passed,
            "applied": self.applied,
            "forced": self.forced,
            "reason": self.reason,
            "checks": self.checks,
            "evaluation_id": self.evaluation_id,
            "created_at": self.created_at.isoformat(),
        }


class Predictor:
    """A loaded model version with one calling convention for every flavor.

    ``predict(X)`` / ``predict_proba(X)`` accept a DataFrame, a dict of columns, a list
    of records or arrays; inputs are checked against the version's signature
    (:class:`~shipyard.core.InvalidInput` names the offending field). Arrays and dicts
    of columns never go through pandas unless the flavor itself needs a DataFrame.
    """

    def __init__(self, version: ModelVersion, loaded: LoadedModel) -> None:
        self.version = version
        self._loaded = loaded
        self._what = f"the input to {version.ref}"

    @property
    def signature(self) -> Signature | None:
        return self.version.signature

    @property
    def flavor(self) -> str:
        return self.version.flavor

    @property
    def classes(self) -> list[Any] | None:
        return self._loaded.classes

    @property
    def has_proba(self) -> bool:
        return self._loaded.predict_proba is not None

    @property
    def raw(self) -> Any:
        """The flavor's native object (estimator, torch module, ORT session…)."""
        return self._loaded.raw

    def prepare(self, data: Any) -> Any:
        sig = self.version.signature
        return data if sig is None else sig.prepare(data, self._what)

    def predict(self, data: Any) -> np.ndarray:
        return self._loaded.predict(self.prepare(data))

    def predict_prepared(self, data: Any) -> np.ndarray:
        """:meth:`predict` for inputs that already went through :meth:`prepare` (a
        server prepares each request once, then predicts on the batch of them)."""
        return self._loaded.predict(data)

    def predict_proba(self, data: Any) -> np.ndarray:
        if self._loaded.predict_proba is None:
            raise InvalidInput(
                f"{self.version.ref} ({self.flavor}) gives no class probabilities; use "
                "predict(), or register a classifier (for PyTorch: "
                "flavor_options={'output': 'logits'})",
                details={"model": self.version.ref},
            )
        return self._loaded.predict_proba(self.prepare(data))

    def __repr__(self) -> str:
        return f"Predictor({self.version.ref}, flavor={self.flavor!r})"
