"""Validation of tabular versions against a pandera schema attached to a dataset name.

The schema is stored in its JSON form (``DataFrameSchema.to_json()``), so it must
survive a round trip: built-in checks (``Check.ge``, ``isin``, ``in_range``,
``str_matches``…), dtypes, nullability and uniqueness do; a custom check must be
registered with ``pandera.extensions.register_check_method`` (it is then stored by
name and must be registered again in the process that validates).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..core import InvalidInput

SAMPLES = 5


@dataclass(frozen=True)
class Failure:
    """One rule that rows broke: which column, which check, how many rows, examples."""

    column: str | None
    check: str
    failed_rows: int
    samples: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "failed_rows": self.failed_rows,
            "samples": self.samples,
        }


@dataclass(frozen=True)
class ValidationReport:
    valid: bool
    rows: int
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "rows": self.rows,
            "failures": [f.to_dict() for f in self.failures],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ValidationReport:
        return cls(
            bool(d["valid"]),
            int(d["rows"]),
            [
                Failure(f.get("column"), f["check"], int(f["failed_rows"]), list(f["samples"]))
                for f in d.get("failures", [])
            ],
        )

    def summary(self) -> str:
        if self.valid:
            return f"valid: {self.rows} rows passed every check"
        lines = [f"{len(self.failures)} rule(s) failed on {self.rows} rows:"]
        for f in self.failures:
            where = f"column {f.column!r}" if f.column else "table"
            lines.append(
                f"  - {where}: {f.check} failed on {f.failed_rows} row(s); e.g. "
                + ", ".join(repr(s) for s in f.samples)
            )
        return "\n".join(lines)


class SchemaViolation(InvalidInput):
    """Data broke the dataset's schema; ``report`` says where."""

    def __init__(self, message: str, report: ValidationReport) -> None:
        super().__init__(message, details={"validation": report.to_dict()})
        self.report = report


def _pandera() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.pandas as pa
    return pa


def schema_to_json(schema: Any, dataset: str) -> dict[str, Any]:
    """The stored form of a schema (pandera DataFrameSchema, its dict or JSON text)."""
    pa = _pandera()
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"the schema for dataset {dataset!r} is not valid JSON: {exc}",
                details={"dataset": dataset},
            ) from None
    if isinstance(schema, dict):
        try:
            schema = pa.DataFrameSchema.from_json(json.dumps(schema))
        except Exception as exc:
            raise InvalidInput(
                f"the schema for dataset {dataset!r} is not a pandera schema: {exc}",
                details={"dataset": dataset},
            ) from None
    if not isinstance(schema, pa.DataFrameSchema):
        raise InvalidInput(
            f"cannot use a {type(schema).__name__} as the schema of dataset {dataset!r}: "
            "pass a pandera DataFrameSchema (import pandera.pandas as pa)",
            details={"dataset": dataset},
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandera warns about what we report below
        text = schema.to_json()
    back = pa.DataFrameSchema.from_json(text)
    if back != schema:
        lost = _lost_checks(schema, back)
        raise InvalidInput(
            f"the schema for dataset {dataset!r} has checks that cannot be stored ({lost}): "
            "use pandera's built-in checks, or register custom ones with "
            "pandera.extensions.register_check_method so they are stored by name",
            details={"dataset": dataset, "lost": lost},
        )
    return dict(json.loads(text))


def _lost_checks(a: Any, b: Any) -> str:
    out = []
    for name, col in a.columns.items():
        other = b.columns.get(name)
        if other is None or len(col.checks) != len(other.checks):
            out.append(f"column {name!r}")
    if len(a.checks) != len(b.checks):
        out.append("table-level checks")
    return ", ".join(out) or "some checks"


def schema_from_json(data: dict[str, Any]) -> Any:
    return _pandera().DataFrameSchema.from_json(json.dumps(data))


def validate_frame(df: Any, schema: Any) -> ValidationReport:
    """Validate a pandas DataFrame lazily (every failure, not just the first)."""
    pa = _pandera()
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _report(exc.failure_cases, len(df))
    except pa.errors.SchemaError as exc:  # pragma: no cover - lazy=True collects them
        return ValidationReport(False, len(df), [Failure(None, str(exc), len(df), [])])
    return ValidationReport(True, len(df), [])


def _report(cases: Any, rows: int) -> ValidationReport:
    from ._profile import jsonable

    failures: list[Failure] = []
    cases = cases.copy()
    cases["column"] = cases["column"].where(cases["column"].notna(), None)
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        idx = group["index"].dropna()
        failed = int(idx.nunique()) if len(idx) else rows if "dtype" in str(check) else len(group)
        samples = [jsonable(v) for v in group["failure_case"].drop_duplicates().head(SAMPLES)]
        col = None if column is None or (isinstance(column, float) and column != column) else column
        failures.append(Failure(None if col is None else str(col), str(check), failed, samples))
    return ValidationReport(False, rows, failures)
