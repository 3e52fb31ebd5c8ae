"""Results of feature retrieval: training sets (offline) and online lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..core import InvalidInput
from ..store import Node

PRESENT = "present"
NOT_FOUND = "not_found"
OUTSIDE_TTL = "outside_ttl"


@dataclass
class TrainingSet:
    """A point-in-time correct table: the entity rows plus one column per feature."""

    table: pa.Table
    features: list[str]  # the "view@v:feature" refs it holds
    views: list[Node]
    service: Node | None = None
    entity_source: Node | None = None
    _ws: Any = field(default=None, repr=False)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> Any:
        return self.table.to_pandas()

    def to_parquet(self, path: str) -> str:
        pq.write_table(self.table, path)
        return path

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def __len__(self) -> int:
        return self.num_rows

    def commit(self, name: str, **options: Any) -> Any:
        """Commit as a dataset version (through ``ws.datasets``) with lineage to the
        feature views, the feature service and the entity table."""
        datasets = getattr(self._ws, "datasets", None) if self._ws is not None else None
        if datasets is None:
            raise InvalidInput(
                "committing a training set needs the datasets service; write it with "
                "to_parquet(path) instead"
            )
        dv = datasets.commit(name, self.table, **options)
        edges: list[tuple[Any, Any, str]] = [(v, dv, "features_of") for v in self.views]
        if self.service is not None:
            edges.append((self.service, dv, "features_of"))
        if self.entity_source is not None:
            edges.append((self.entity_source, dv, "entities_of"))
        self._ws.lineage.record_many(edges)
        return dv


@dataclass
class OnlineFeatures:
    """Values and per-feature status of an online lookup, one entry per entity row.

    ``status`` values: ``present``, ``not_found`` (nothing materialized for the entity),
    ``outside_ttl`` (the stored value is older than the view's TTL; the value is None).
    """

    features: list[str]
    entities: list[dict[str, Any]]
    values: list[dict[str, Any]]
    status: list[dict[str, str]]
    event_times: list[dict[str, int | None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "results": [
                {"entity": e, "values": v, "status": s}
                for e, v, s in zip(self.entities, self.values, self.status, strict=True)
            ],
        }

    def to_numpy(self, dtype: Any = float) -> Any:
        """A (rows x features) array in feature order, NaN where a value is missing:
        the input a model server hands to the model."""
        import numpy as np

        nan = float("nan")
        return np.array(
            [[nan if v.get(f) is None else v[f] for f in self.features] for v in self.values],
            dtype=dtype,
        ).reshape(len(self.values), len(self.features))

    def to_rows(self) -> list[dict[str, Any]]:
        return [{**e, **v} for e, v in zip(self.entities, self.values, strict=True)]

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.to_rows())
