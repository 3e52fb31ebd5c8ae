"""The labeling service's value objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from ..store import Node

KINDS = ("classification", "multilabel", "text_spans", "bounding_boxes")
ROLES = ("annotator", "reviewer", "manager")


@dataclass(frozen=True)
class Project:
    """A labeling project: its tasks live in the DB, its payloads in one Parquet blob."""

    id: str
    name: str
    kind: str
    classes: list[str]
    instructions: str
    overlap: int
    gold_fraction: float
    source: dict[str, Any]
    payload_digest: str
    config: dict[str, Any]
    n_tasks: int
    n_gold: int
    n_complete: int
    n_annotations: int
    queue_version: int
    created_at: datetime

    @property
    def lineage_node(self) -> Node:
        return Node("labeling_project", self.id, self.name)

    @property
    def n_regular(self) -> int:
        """Tasks that are not gold (the ones the project exists to label)."""
        return self.n_tasks - self.n_gold

    @property
    def progress(self) -> float:
        """Fraction of regular tasks that have all ``overlap`` annotations."""
        return self.n_complete / self.n_regular if self.n_regular else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "classes": self.classes,
            "instructions": self.instructions,
            "overlap": self.overlap,
            "gold_fraction": self.gold_fraction,
            "source": self.source,
            "config": self.config,
            "n_tasks": self.n_tasks,
            "n_gold": self.n_gold,
            "n_complete": self.n_complete,
            "n_annotations": self.n_annotations,
            "progress": round(self.progress, 6),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Annotator:
    id: str
    name: str
    role: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class Task:
    """One task as an annotator sees it (gold tasks are not marked)."""

    project_id: str
    row: int
    payload: dict[str, Any]
    media: list[str] = field(default_factory=list)
    prediction: dict[str, Any] | None = None
    done_by_me: int = 0
    progress: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "row": self.row,
            "payload": self.payload,
            "media": self.media,
            "prediction": self.prediction,
            "done_by_me": self.done_by_me,
        }


@dataclass
class LabelExport:
    """The result of :meth:`Labels.export`: the labeled table and where it went."""

    project: str
    method: str
    frame: pd.DataFrame
    digest: str
    dataset_version: Any = None

    @property
    def n_labeled(self) -> int:
        return int(self.frame["n_annotations"].gt(0).sum())
