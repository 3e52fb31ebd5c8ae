"""Suites: the checks and thresholds a model must pass, from Python or TOML.

Check expressions (one grammar for Python, TOML, the CLI and ``[success]``)::

    auc >= 0.85                                    a metric threshold
    p95_latency_ms <= 20      size_mb <= 50        operational thresholds
    min slice f1 >= 0.70                           the worst slice's metric
    not worse than @champion by more than 0.01 auc a comparison with another version

TOML (a file, or the ``[suite]`` / ``[success]`` table of ``shipyard.toml``)::

    checks = ["auc >= 0.85", "min slice f1 >= 0.70"]
    slices = ["plan", "tenure"]
    slice_tolerance = 0.05
    auc = ">= 0.85"                  # key = "op value" works too
    [[invariance]]
    name = "plan casing"
    perturb = { replace = { plan = { basic = "BASIC" } } }
    tolerance = 0.05
    [[directional]]
    name = "more support calls, more churn"
    perturb = { add = { support_calls = 3 } }
    direction = "up"
    [[minimum_functionality]]
    name = "obvious churner"
    cases = [ { input = { tenure = 1, plan = "basic" }, expected = 1 } ]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import InvalidInput
from ._behavioral import BehavioralTest, Directional, Invariance, MinimumFunctionality

METRIC_ALIASES = {
    "roc_auc": "auc",
    "logloss": "log_loss",
    "calibration_error": "ece",
    "f1_score": "f1",
    "p95_latency": "p95_latency_ms",
    "p99_latency": "p99_latency_ms",
    "p50_latency": "p50_latency_ms",
    "latency_p95_ms": "p95_latency_ms",
    "latency_p99_ms": "p99_latency_ms",
    "size": "size_mb",
}
LOWER_IS_BETTER = {
    "log_loss",
    "ece",
    "rmse",
    "mae",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "size_mb",
    "leakage_rate",
}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_METRIC_RE = re.compile(rf"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|>|<)\s*({_NUM})\s*$")
_SLICE_RE = re.compile(
    rf"^\s*min\s+slice\s+([A-Za-z_][\w.]*)\s*(>=|<=|==|>|<)\s*({_NUM})\s*$", re.I
)
_MAX_SLICE_RE = re.compile(
    rf"^\s*max\s+slice\s+([A-Za-z_][\w.]*)\s*(>=|<=|==|>|<)\s*({_NUM})\s*$", re.I
)
_COMPARE_RE = re.compile(
    rf"^\s*not\s+worse\s+than\s+(\S+)\s+by\s+more\s+than\s+({_NUM})\s+([A-Za-z_][\w.]*)\s*$", re.I
)
_SETTINGS = {
    "checks",
    "slices",
    "slice_tolerance",
    "slice_metric",
    "min_slice_size",
    "bins",
    "data_checks",
    "max_leakage",
    "latency_samples",
    "invariance",
    "directional",
    "minimum_functionality",
    "target_class",
}


def metric_name(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return METRIC_ALIASES.get(key, key)


@dataclass(frozen=True)
class Check:
    """One declared check. ``kind``: ``metric``, ``slice_min``, ``slice_max`` or ``compare``."""

    kind: str
    metric: str
    op: str = ">="
    threshold: float = 0.0
    baseline: str | None = None

    @classmethod
    def parse(cls, text: str) -> Check:
        if isinstance(text, Check):
            return text
        if not isinstance(text, str):
            raise InvalidInput(f"a check is a string like 'auc >= 0.85', not {text!r}")
        if m := _COMPARE_RE.match(text):
            return cls("compare", metric_name(m.group(3)), "<=", float(m.group(2)), m.group(1))
        if m := _SLICE_RE.match(text):
            return cls("slice_min", metric_name(m.group(1)), m.group(2), float(m.group(3)))
        if m := _MAX_SLICE_RE.match(text):
            return cls("slice_max", metric_name(m.group(1)), m.group(2), float(m.group(3)))
        if m := _METRIC_RE.match(text):
            return cls("metric", metric_name(m.group(1)), m.group(2), float(m.group(3)))
        raise InvalidInput(
            f"cannot parse the check {text!r}; write 'auc >= 0.85', 'p95_latency_ms <= 20', "
            "'min slice f1 >= 0.70' or 'not worse than @champion by more than 0.01 auc'",
            details={"check": text},
        )

    @property
    def name(self) -> str:
        t = f"{self.threshold:g}"
        if self.kind == "compare":
            return f"not worse than {self.baseline} by more than {t} {self.metric}"
        if self.kind == "slice_min":
            return f"min slice {self.metric} {self.op} {t}"
        if self.kind == "slice_max":
            return f"max slice {self.metric} {self.op} {t}"
        return f"{self.metric} {self.op} {t}"

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)


@dataclass
class Suite:
    """Checks, slices, behavioral tests and data checks for :func:`shipyard.evaluate`."""

    checks: list[Any] = field(default_factory=list)
    slices: list[str] = field(default_factory=list)
    slice_tolerance: float = 0.05
    slice_metric: str | None = None
    min_slice_size: int = 10
    bins: int = 4
    behavioral: list[BehavioralTest] = field(default_factory=list)
    data_checks: bool = True
    max_leakage: float = 0.0
    latency_samples: int = 200
    target_class: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.checks, str):
            self.checks = [self.checks]
        self.checks = [Check.parse(c) for c in self.checks]
        if isinstance(self.slices, str):
            self.slices = [self.slices]
        self.slices = [str(s) for s in self.slices]
        if self.slice_metric:
            self.slice_metric = metric_name(self.slice_metric)
        for b in self.behavioral:
            if not isinstance(b, BehavioralTest):
                raise InvalidInput(
                    f"behavioral tests must be MinimumFunctionality, Invariance or Directional, "
                    f"not {type(b).__name__}"
                )
        if not 0 <= self.max_leakage <= 1:
            raise InvalidInput(
                f"max_leakage is a fraction of rows in [0, 1], not {self.max_leakage}"
            )
        if self.bins < 2 or self.min_slice_size < 1 or self.latency_samples < 1:
            raise InvalidInput("bins must be >= 2, min_slice_size and latency_samples >= 1")

    # ----------------------------------------------------------------- build
    @classmethod
    def parse(cls, checks: Sequence[str] | str, **settings: Any) -> Suite:
        return cls(checks=[checks] if isinstance(checks, str) else list(checks), **settings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "suite") -> Suite:
        """Build from a TOML-shaped mapping (see the module docs)."""
        checks = list(data.get("checks", []))
        settings: dict[str, Any] = {}
        behavioral: list[BehavioralTest] = []
        for key, value in data.items():
            if key == "checks":
                continue
            if key in ("invariance", "directional", "minimum_functionality"):
                for spec in value if isinstance(value, list) else [value]:
                    behavioral.append(_behavioral_from_dict(key, spec, source))
            elif key in _SETTINGS:
                settings[key] = value
            elif isinstance(value, str):
                checks.append(_criterion(key, value))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                m = metric_name(key)
                op = "<=" if m in LOWER_IS_BETTER else ">="
                checks.append(f"{m} {op} {value}")
            else:
                raise InvalidInput(
                    f"{source}: cannot read {key!r} = {value!r}; write checks like "
                    f'{key} = ">= 0.85"',
                    details={"key": key},
                )
        try:
            return cls(checks=checks, behavioral=behavioral, **settings)
        except TypeError as exc:
            raise InvalidInput(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, source: str | Path, table: str | None = None) -> Suite:
        """Read a suite from a TOML file path or TOML text (optionally one table of it)."""
        path = Path(source) if not isinstance(source, str) or "\n" not in source else None
        if path is not None and path.suffix == ".toml" and not path.exists():
            raise InvalidInput(f"no suite file {path}", details={"path": str(path)})
        text = path.read_text() if path is not None and path.exists() else str(source)
        label = str(path) if path is not None and path.exists() else "suite TOML"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(
                f"{label} is not valid TOML: {exc}", details={"source": label}
            ) from None
        if table:
            data = data.get(table, {})
        elif "suite" in data and isinstance(data["suite"], dict):
            data = data["suite"]
        return cls.from_dict(data, source=label)

    def merged(self, other: Suite) -> Suite:
        """This suite plus *other*'s checks, slices and tests (other's settings win)."""
        return Suite(
            checks=[*self.checks, *[c for c in other.checks if c not in self.checks]],
            slices=list(dict.fromkeys([*self.slices, *other.slices])),
            slice_tolerance=other.slice_tolerance,
            slice_metric=other.slice_metric or self.slice_metric,
            min_slice_size=other.min_slice_size,
            bins=other.bins,
            behavioral=[*self.behavioral, *other.behavioral],
            data_checks=self.data_checks and other.data_checks,
            max_leakage=min(self.max_leakage, other.max_leakage),
            latency_samples=max(self.latency_samples, other.latency_samples),
            target_class=other.target_class
            if other.target_class is not None
            else self.target_class,
        )

    @property
    def is_empty(self) -> bool:
        return not self.checks and not self.behavioral and not self.slices

    def to_dict(self) -> dict[str, Any]:
        return {
            "checks": [c.name for c in self.checks],
            "slices": self.slices,
            "slice_tolerance": self.slice_tolerance,
            "slice_metric": self.slice_metric,
            "min_slice_size": self.min_slice_size,
            "bins": self.bins,
            "behavioral": [b.describe() for b in self.behavioral],
            "data_checks": self.data_checks,
            "max_leakage": self.max_leakage,
            "latency_samples": self.latency_samples,
        }


def _criterion(key: str, value: str) -> str:
    """``auc = ">= 0.85"`` → ``"auc >= 0.85"``; ``min_slice_f1 = ">= 0.7"`` too."""
    k = key.strip()
    low = k.lower()
    if low.startswith("min_slice_") or low.startswith("min slice "):
        k = "min slice " + k[10:]
    elif low.startswith("max_slice_") or low.startswith("max slice "):
        k = "max slice " + k[10:]
    return f"{k} {value.strip()}"


def _behavioral_from_dict(kind: str, spec: Any, source: str) -> BehavioralTest:
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"{source}: each [[{kind}]] entry must be a table")
    spec = dict(spec)
    try:
        if kind == "minimum_functionality":
            return MinimumFunctionality(**spec)
        if kind == "invariance":
            return Invariance(**spec)
        return Directional(**spec)
    except TypeError as exc:
        raise InvalidInput(f"{source}: [[{kind}]] {spec.get('name', '')!r}: {exc}") from None
