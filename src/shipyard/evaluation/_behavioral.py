"""Behavioral tests in the CheckList sense.

* :class:`MinimumFunctionality` — given inputs, expected outputs.
* :class:`Invariance` — a perturbation that must not change the prediction (the label,
  or the score by more than ``tolerance``).
* :class:`Directional` — a perturbation that must move the score ``up`` or ``down``.

A perturbation is a Python callable ``frame -> frame`` or a declarative mapping (the
form TOML suites use): ``{"set": {col: value}, "add": {col: delta}, "scale": {col:
factor}, "replace": {col: {old: new}}, "noise": {col: std}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..core import InvalidInput

_PERTURB_OPS = ("set", "add", "scale", "replace", "noise")


class Scorer(Protocol):
    def labels(self, frame: Any) -> np.ndarray: ...

    def scores(self, frame: Any) -> np.ndarray: ...


def check_perturbation(perturb: Any, test: str) -> None:
    """Refuse malformed declarative perturbations before anything runs."""
    if callable(perturb):
        return
    if not isinstance(perturb, Mapping) or not perturb:
        raise InvalidInput(
            f"test {test!r}: a perturbation is a function or a mapping of "
            f"{', '.join(_PERTURB_OPS)}, not {perturb!r}",
            details={"test": test},
        )
    unknown = set(perturb) - set(_PERTURB_OPS)
    if unknown:
        raise InvalidInput(
            f"test {test!r}: unknown perturbation {sorted(unknown)[0]!r}; use "
            f"{', '.join(_PERTURB_OPS)}",
            details={"test": test, "perturbation": dict(perturb)},
        )
    for op, cols in perturb.items():
        if not isinstance(cols, Mapping):
            raise InvalidInput(
                f"test {test!r}: perturbation {op!r} maps columns to values, not {cols!r}",
                details={"test": test},
            )


def apply_perturbation(perturb: Any, frame: Any, seed: int = 0) -> Any:
    if callable(perturb):
        out = perturb(frame.copy())
        if out is None or not hasattr(out, "columns"):
            raise InvalidInput("a perturbation function must return the changed DataFrame")
        return out
    if not isinstance(perturb, Mapping):
        raise InvalidInput(
            f"a perturbation is a function or a mapping of {_PERTURB_OPS}, not {perturb!r}"
        )
    unknown = set(perturb) - set(_PERTURB_OPS)
    if unknown:
        raise InvalidInput(
            f"unknown perturbation {sorted(unknown)[0]!r}; use {', '.join(_PERTURB_OPS)}",
            details={"perturbation": dict(perturb)},
        )
    out = frame.copy()
    rng = np.random.default_rng(seed)
    for op, cols in perturb.items():
        for col, arg in dict(cols).items():
            if col not in out.columns:
                raise InvalidInput(
                    f"perturbation {op} names column {col!r}, which the data does not have; "
                    f"columns: {', '.join(map(str, out.columns))}",
                    details={"field": col},
                )
            if op == "set":
                out[col] = arg
            elif op == "add":
                out[col] = out[col] + arg
            elif op == "scale":
                out[col] = out[col] * arg
            elif op == "replace":
                out[col] = out[col].replace(dict(arg))
            elif op == "noise":
                out[col] = out[col] + rng.normal(0.0, float(arg), len(out))
    return out


def _describe_perturb(perturb: Any) -> Any:
    if callable(perturb):
        return getattr(perturb, "__name__", "function")
    return dict(perturb)


@dataclass
class BehavioralTest:
    name: str

    kind = "behavioral"

    def run(self, scorer: Scorer, sample: Any, task: str) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind}


@dataclass
class MinimumFunctionality(BehavioralTest):
    """Each case: ``{"input": {column: value, …}, "expected": label_or_value}``."""

    cases: list[Any] = field(default_factory=list)
    tolerance: float = 0.0

    kind = "minimum_functionality"

    def __post_init__(self) -> None:
        norm = []
        for c in self.cases:
            if isinstance(c, Mapping) and "input" in c and "expected" in c:
                norm.append({"input": dict(c["input"]), "expected": c["expected"]})
            elif isinstance(c, tuple) and len(c) == 2:
                norm.append({"input": dict(c[0]), "expected": c[1]})
            else:
                raise InvalidInput(
                    f"minimum-functionality test {self.name!r}: a case is "
                    "{'input': {...}, 'expected': …} or (input, expected), not {c!r}"
                )
        if not norm:
            raise InvalidInput(f"minimum-functionality test {self.name!r} has no cases")
        self.cases = norm

    def run(self, scorer: Scorer, sample: Any, task: str) -> dict[str, Any]:
        import pandas as pd

        frame = pd.DataFrame([c["input"] for c in self.cases])
        got = scorer.labels(frame)
        failures = []
        for case, pred in zip(self.cases, got, strict=False):
            exp = case["expected"]
            if task == "regression":
                ok = abs(float(pred) - float(exp)) <= self.tolerance
            else:
                ok = _same(pred, exp)
            if not ok:
                failures.append(
                    {"input": case["input"], "expected": _plain(exp), "got": _plain(pred)}
                )
        return _result(self, len(self.cases), failures, 0.0)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "cases": len(self.cases)}


@dataclass
class Invariance(BehavioralTest):
    """The prediction must not change under *perturb* (score within *tolerance*)."""

    perturb: Any = None
    tolerance: float = 0.0
    max_failure_rate: float = 0.0
    sample: int = 500

    kind = "invariance"

    def __post_init__(self) -> None:
        if self.perturb is None:
            raise InvalidInput(f"invariance test {self.name!r} needs perturb=")
        check_perturbation(self.perturb, self.name)

    def run(self, scorer: Scorer, sample: Any, task: str) -> dict[str, Any]:
        base = sample.head(self.sample)
        changed = apply_perturbation(self.perturb, base)
        if self.tolerance == 0 and task != "regression":
            a, b = scorer.labels(base), scorer.labels(changed)
            bad = ~np.array([_same(x, y) for x, y in zip(a, b, strict=False)], dtype=bool)
        else:
            a, b = scorer.scores(base), scorer.scores(changed)
            bad = np.abs(np.asarray(b, float) - np.asarray(a, float)) > self.tolerance
        failures = [
            {"row": int(i), "before": _plain(a[i]), "after": _plain(b[i])}
            for i in np.flatnonzero(bad)
        ]
        return _result(self, len(base), failures, self.max_failure_rate)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "perturb": _describe_perturb(self.perturb),
            "tolerance": self.tolerance,
        }


@dataclass
class Directional(BehavioralTest):
    """The score must move ``direction`` ("up" or "down") under *perturb*.

    Rows whose score moves the other way by more than *tolerance* fail.
    """

    perturb: Any = None
    direction: str = "up"
    tolerance: float = 0.0
    max_failure_rate: float = 0.0
    sample: int = 500

    kind = "directional"

    def __post_init__(self) -> None:
        if self.perturb is None:
            raise InvalidInput(f"directional test {self.name!r} needs perturb=")
        check_perturbation(self.perturb, self.name)
        if self.direction not in ("up", "down"):
            raise InvalidInput(
                f"directional test {self.name!r}: direction must be 'up' or 'down', "
                f"not {self.direction!r}"
            )

    def run(self, scorer: Scorer, sample: Any, task: str) -> dict[str, Any]:
        base = sample.head(self.sample)
        changed = apply_perturbation(self.perturb, base)
        a = np.asarray(scorer.scores(base), float)
        b = np.asarray(scorer.scores(changed), float)
        delta = b - a
        bad = delta < -self.tolerance if self.direction == "up" else delta > self.tolerance
        failures = [
            {"row": int(i), "before": float(a[i]), "after": float(b[i])}
            for i in np.flatnonzero(bad)
        ]
        res = _result(self, len(base), failures, self.max_failure_rate)
        res["mean_delta"] = float(delta.mean()) if len(delta) else 0.0
        return res

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "perturb": _describe_perturb(self.perturb),
            "direction": self.direction,
            "tolerance": self.tolerance,
        }


def _result(
    test: BehavioralTest, n: int, failures: list[dict[str, Any]], max_rate: float
) -> dict[str, Any]:
    rate = len(failures) / n if n else 0.0
    return {
        **test.describe(),
        "n": n,
        "failures": len(failures),
        "failure_rate": rate,
        "passed": n > 0 and rate <= max_rate,
        "examples": failures[:5],
    }


def _same(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
            return float(a) == float(b)
    except (TypeError, ValueError):
        pass
    return str(_plain(a)) == str(_plain(b))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


Perturbation = Callable[[Any], Any] | Mapping[str, Any]
