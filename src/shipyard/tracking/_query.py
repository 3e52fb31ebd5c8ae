"""Translate parsed run filters and orderings to one SQL query over the summary tables.

Every ``metrics.k`` / ``params.k`` / ``tags.k`` named in a filter or an ordering
becomes one LEFT JOIN on the table's primary key ``(run_id, key)``, so a search costs
a few index lookups per candidate run and never touches raw metric points.
A comparison on a missing key is false (and ``not`` of it is true).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..core import InvalidInput
from ._filter import BoolOp, Compare, Expr, Field, Not, OrderBy
from .tables import experiments, metric_series, run_params, run_tags, runs


def _as_time(value: Any, field: Field) -> datetime:
    if isinstance(value, bool):
        raise InvalidInput(f"{field} compares with a time, got {value!r}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000.0, UTC)
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"{field} compares with an ISO time ('2026-01-31T12:00') or epoch milliseconds, "
            f"got {value!r}",
            details={"field": str(field)},
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class QueryBuilder:
    def __init__(self) -> None:
        self.joins: dict[tuple[str, str], Any] = {}
        self.from_: Any = runs
        self.need_experiment = False

    def alias(self, kind: str, key: str) -> Any:
        found = self.joins.get((kind, key))
        if found is not None:
            return found
        table = {"metrics": metric_series, "params": run_params, "tags": run_tags}[kind]
        a = table.alias(f"{kind[0]}{len(self.joins)}")
        self.joins[(kind, key)] = a
        self.from_ = self.from_.outerjoin(a, sa.and_(a.c.run_id == runs.c.id, a.c.key == key))
        return a

    def attribute(self, key: str) -> Any:
        if key in ("id", "run_id"):
            return runs.c.id
        if key == "experiment":
            if not self.need_experiment:
                self.need_experiment = True
                self.from_ = self.from_.join(experiments, experiments.c.id == runs.c.experiment_id)
            return experiments.c.name
        return runs.c[key]

    def column(self, field: Field, value: Any = None) -> Any:
        if field.kind == "attributes":
            return self.attribute(field.key)
        a = self.alias(field.kind, field.key)
        if field.kind == "metrics":
            return a.c.last
        if field.kind == "params":
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if isinstance(value, tuple):
                numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            return a.c.value_num if numeric else a.c.value
        return a.c.value

    # ---------------------------------------------------------------- filters
    def where(self, expr: Expr) -> Any:
        if isinstance(expr, BoolOp):
            parts = [self.where(e) for e in expr.items]
            return sa.and_(*parts) if expr.op == "and" else sa.or_(*parts)
        if isinstance(expr, Not):
            return sa.not_(self.where(expr.item))
        return self.compare(expr)

    def compare(self, c: Compare) -> Any:
        f = c.field
        if c.op in ("is null", "is not null"):
            if f.kind == "attributes":
                col = self.attribute(f.key)
            else:
                col = self.alias(f.kind, f.key).c.key  # the row exists or not
            return col.is_(None) if c.op == "is null" else col.is_not(None)
        value = c.value
        if f.kind == "metrics":
            if c.op in ("like", "ilike", "not like", "not ilike"):
                raise InvalidInput(f"LIKE applies to strings; {f} is a metric (a number)")
            vals = value if isinstance(value, tuple) else (value,)
            for v in vals:
                if isinstance(v, (str, bool)):
                    raise InvalidInput(
                        f"{f} is numeric; compare it with a number, not {v!r}",
                        details={"field": str(f)},
                    )
        if f.kind == "params" and isinstance(value, bool):
            value = str(value)
        if f.kind == "tags":
            value = tuple(str(v) for v in value) if isinstance(value, tuple) else str(value)
        col = self.column(f, value)
        if f.kind == "attributes" and f.key in ("start_time", "end_time"):
            if isinstance(value, tuple):
                value = tuple(_as_time(v, f) for v in value)
            elif c.op not in ("like", "ilike", "not like", "not ilike"):
                value = _as_time(value, f)
        elif f.kind == "attributes" and not isinstance(value, tuple):
            value = str(value)
        elif f.kind == "attributes":
            value = tuple(str(v) for v in value)
        cond: Any
        op = c.op
        if op == "=":
            cond = col == value
        elif op == "!=":
            cond = col != value
        elif op == "<":
            cond = col < value
        elif op == "<=":
            cond = col <= value
        elif op == ">":
            cond = col > value
        elif op == ">=":
            cond = col >= value
        elif op in ("in", "not in"):
            cond = col.in_(list(value))
            if op == "not in":
                cond = sa.not_(cond)
        elif op in ("like", "not like"):
            cond = col.like(value)
            if op == "not like":
                cond = sa.not_(cond)
        elif op in ("ilike", "not ilike"):
            cond = sa.func.lower(col).like(str(value).lower())
            if op == "not ilike":
                cond = sa.not_(cond)
        else:  # pragma: no cover - the parser produces only the operators above
            raise InvalidInput(f"unsupported operator {op!r}")
        # Missing keys (NULL) make the comparison false, never unknown, so NOT works.
        return sa.and_(col.is_not(None), cond)

    # ---------------------------------------------------------------- ordering
    def order(self, items: list[OrderBy]) -> list[Any]:
        out = []
        for o in items:
            f = o.field
            if f.kind == "params":
                a = self.alias("params", f.key)
                cols = [a.c.value_num, a.c.value]
            else:
                cols = [self.column(f)]
            for col in cols:
                out.append(sa.nulls_last(col.desc() if o.descending else col.asc()))
        return out
