"""Datasets: versioning, storage, validation, statistics, synthetic data, augmentation.

>>> v = ws.datasets.commit("churn", df, message="January export")
>>> ws.datasets.get("churn@1").to_pandas()

Submodules: :mod:`shipyard.data.synthetic` (generated tables, the churn table) and
:mod:`shipyard.data.augment` (seeded image and text transforms).
"""

from ._diff import ColumnShift, DatasetDiff
from ._manifest import FileEntry
from ._profile import (
    ColumnProfile,
    Histogram,
    TableProfile,
    TopValues,
    as_arrow_table,
    profile_table,
)
from ._service import Dataset, Datasets
from ._validation import Failure, SchemaViolation, ValidationReport
from ._version import DatasetVersion

__all__ = [
    "ColumnProfile",
    "ColumnShift",
    "Dataset",
    "DatasetDiff",
    "DatasetVersion",
    "Datasets",
    "Failure",
    "FileEntry",
    "Histogram",
    "SchemaViolation",
    "TableProfile",
    "TopValues",
    "ValidationReport",
    "as_arrow_table",
    "profile_table",
]
