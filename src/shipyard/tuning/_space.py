"""Search spaces: dimensions (:func:`uniform`, :func:`loguniform`, :func:`integer`,
:func:`choice`), fixed values, nested dicts and conditional branches.

A space is a dict. Values that are dimensions are searched; anything else is passed
through unchanged; a nested dict becomes a nested dict of parameters. A :func:`choice`
over a dict of branches is *conditional*: the parameter takes the branch's key and the
branch's own keys join the parameters only when that branch is chosen::

    {
        "lr": sy.loguniform(1e-4, 1e-1),
        "model": sy.choice({
            "svm": {"C": sy.loguniform(1e-3, 1e3)},
            "forest": {"n_estimators": sy.integer(10, 200, step=10)},
        }),
        "epochs": 20,                      # fixed
    }

Optuna names each searched parameter by its dotted path (``model``, ``C``,
``optimizer.lr``). A space serializes to JSON so that a study can be resumed and
shown without the code that defined it.
"""

from __future__ import annotations

import itertools
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core import InvalidInput

if TYPE_CHECKING:  # Optuna is imported when a study runs, not with ``import shipyard``
    from optuna.distributions import BaseDistribution

_PRIMITIVE = (type(None), bool, int, float, str)


class InvalidSpace(InvalidInput):
    """A search space (a range, a choice, a nesting) cannot be searched."""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidSpace(f"{what} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise InvalidSpace(f"{what} must be finite, got {value!r}")
    return float(value)


class Dimension(ABC):
    """One searched parameter."""

    kind: str = ""

    @abstractmethod
    def distribution(self) -> BaseDistribution:
        """The Optuna distribution this dimension samples from."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]: ...

    @abstractmethod
    def suggest(self, trial: Any, name: str) -> Any:
        """Ask an Optuna trial for this parameter (its Optuna-side value)."""

    def contains(self, value: Any) -> bool:
        return True

    def grid(self, path: str) -> list[Any]:
        """Every value, for exhaustive search (only finite dimensions have one)."""
        raise InvalidSpace(
            f"parameter {path!r} ({self!r}) is continuous, so the grid sampler cannot "
            "enumerate it; give it a step (sy.uniform(a, b, step=0.1)), make it a "
            "sy.integer or sy.choice, or use sampler='random'/'tpe'",
            details={"param": path},
        )

    def external(self, value: Any) -> Any:
        """The user-facing value of an Optuna parameter value."""
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dimension) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(repr(self.to_json()))


class Uniform(Dimension):
    kind = "uniform"

    def __init__(self, low: float, high: float, step: float | None = None) -> None:
        self.low = _number(low, "uniform: the low bound")
        self.high = _number(high, "uniform: the high bound")
        if self.low > self.high:
            raise InvalidSpace(
                f"uniform({low}, {high}): the range is inverted; write uniform({high}, {low})",
                details={"low": low, "high": high},
            )
        if self.low == self.high:
            raise InvalidSpace(
                f"uniform({low}, {high}): the range is empty; widen it, or pass the fixed "
                f"value {low} itself instead of a dimension",
                details={"low": low, "high": high},
            )
        self.step = None if step is None else _number(step, "uniform: step")
        if self.step is not None and self.step <= 0:
            raise InvalidSpace(f"uniform({low}, {high}, step={step}): step must be > 0")

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, step=self.step)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, step=self.step)

    def contains(self, value: Any) -> bool:
        return _is_num(value) and self.low <= float(value) <= self.high

    def grid(self, path: str) -> list[Any]:
        if self.step is None:
            return super().grid(path)
        n = math.floor((self.high - self.low) / self.step + 1e-9)
        return [round(self.low + i * self.step, 12) for i in range(n + 1)]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "low": self.low, "high": self.high, "step": self.step}

    def __repr__(self) -> str:
        step = f", step={self.step:g}" if self.step is not None else ""
        return f"uniform({self.low:g}, {self.high:g}{step})"


class LogUniform(Dimension):
    kind = "loguniform"

    def __init__(self, low: float, high: float) -> None:
        self.low = _number(low, "loguniform: the low bound")
        self.high = _number(high, "loguniform: the high bound")
        if self.low <= 0 or self.high <= 0:
            raise InvalidSpace(
                f"loguniform({low}, {high}): both bounds must be > 0 (the logarithm of "
                f"{min(self.low, self.high):g} is undefined); use uniform() for ranges that "
                "include zero or negative values",
                details={"low": low, "high": high},
            )
        if self.low > self.high:
            raise InvalidSpace(
                f"loguniform({low}, {high}): the range is inverted; write "
                f"loguniform({high}, {low})",
                details={"low": low, "high": high},
            )
        if self.low == self.high:
            raise InvalidSpace(
                f"loguniform({low}, {high}): the range is empty; widen it, or pass the "
                f"fixed value {low} itself",
                details={"low": low, "high": high},
            )

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=True)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, log=True)

    def contains(self, value: Any) -> bool:
        return _is_num(value) and self.low <= float(value) <= self.high

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"loguniform({self.low:g}, {self.high:g})"


class Integer(Dimension):
    kind = "integer"

    def __init__(self, low: int, high: int, step: int = 1, log: bool = False) -> None:
        for what, v in (("low bound", low), ("high bound", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise InvalidSpace(f"integer: the {what} must be a whole number, got {v!r}")
        self.low, self.high, self.step, self.log = int(low), int(high), int(step), bool(log)
        if self.low > self.high:
            raise InvalidSpace(
                f"integer({low}, {high}): the range is inverted; write integer({high}, {low})",
                details={"low": low, "high": high},
            )
        if self.low == self.high:
            raise InvalidSpace(
                f"integer({low}, {high}): the range holds one value; widen it, or pass the "
                f"fixed value {low} itself",
                details={"low": low, "high": high},
            )
        if self.step <= 0:
            raise InvalidSpace(f"integer({low}, {high}, step={step}): step must be >= 1")
        if self.log and self.low <= 0:
            raise InvalidSpace(
                f"integer({low}, {high}, log=True): a log scale needs a low bound >= 1"
            )
        if self.log and self.step != 1:
            raise InvalidSpace(
                f"integer({low}, {high}, step={step}, log=True): a log scale cannot have a "
                "step; drop one of them"
            )
        if (self.high - self.low) % self.step:
            fit = self.low + (self.high - self.low) // self.step * self.step
            raise InvalidSpace(
                f"integer({low}, {high}, step={step}): the range is not a multiple of the "
                f"step; use a high bound of {fit}"
            )

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, step=self.step, log=self.log)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        return (
            _is_num(value)
            and float(value) == int(value)
            and self.low <= int(value) <= self.high
            and (int(value) - self.low) % self.step == 0
        )

    def grid(self, path: str) -> list[Any]:
        return list(range(self.low, self.high + 1, self.step))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
        }

    def __repr__(self) -> str:
        extra = f", step={self.step}" if self.step != 1 else ""
        extra += ", log=True" if self.log else ""
        return f"integer({self.low}, {self.high}{extra})"


class Choice(Dimension):
    """A categorical dimension; over a dict of branches it is conditional."""

    kind = "choice"

    def __init__(self, options: Sequence[Any] | Mapping[str, Any]) -> None:
        self.branches: dict[str, Space] | None = None
        if isinstance(options, Mapping):
            if not options:
                raise InvalidSpace("choice({}): give at least one branch")
            self.branches = {}
            for key, sub in options.items():
                if not isinstance(key, str):
                    raise InvalidSpace(f"choice: branch names must be strings, got {key!r}")
                if sub is None:
                    sub = {}
                if not isinstance(sub, Mapping):
                    raise InvalidSpace(
                        f"choice: branch {key!r} must be a dict of parameters (or None), "
                        f"got {sub!r}"
                    )
                self.branches[key] = Space(sub)
            self.options: list[Any] = list(self.branches)
        else:
            if isinstance(options, str) or not isinstance(options, Sequence):
                raise InvalidSpace(
                    f"choice({options!r}): give a list of options, e.g. choice(['adam', 'sgd'])"
                )
            self.options = list(options)
            if not self.options:
                raise InvalidSpace(
                    "choice([]): the list of options is empty; give at least one option"
                )
        self._labels = [_label(o) for o in self.options]
        if len(set(self._labels)) != len(self._labels):
            raise InvalidSpace(f"choice({self.options!r}): the options repeat; remove duplicates")

    @property
    def conditional(self) -> bool:
        return self.branches is not None

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(self._labels)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, self._labels)

    def external(self, value: Any) -> Any:
        return self.options[self._labels.index(value)]

    def grid(self, path: str) -> list[Any]:
        return list(self._labels)

    def to_json(self) -> dict[str, Any]:
        if self.branches is not None:
            return {
                "kind": self.kind,
                "branches": {k: v.to_json() for k, v in self.branches.items()},
            }
        return {"kind": self.kind, "options": [_jsonable(o) for o in self.options]}

    def __repr__(self) -> str:
        if self.branches is not None:
            return f"choice({{{', '.join(self.branches)}}})"
        return f"choice({self.options!r})"


def _is_num(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _label(option: Any) -> Any:
    """Optuna categorical choices must be None, bool, int, float or str."""
    return option if isinstance(option, _PRIMITIVE) else repr(option)


def _jsonable(value: Any) -> Any:
    if isinstance(value, _PRIMITIVE):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def uniform(low: float, high: float, step: float | None = None) -> Uniform:
    """A float drawn uniformly from [low, high] (on a grid of *step* if given)."""
    return Uniform(low, high, step)


def loguniform(low: float, high: float) -> LogUniform:
    """A float whose logarithm is uniform on [log low, log high]; both bounds > 0."""
    return LogUniform(low, high)


def integer(low: int, high: int, step: int = 1, log: bool = False) -> Integer:
    """A whole number in [low, high] (inclusive), every *step*; log-scaled if *log*."""
    return Integer(low, high, step, log)


def choice(options: Sequence[Any] | Mapping[str, Any]) -> Choice:
    """One of *options*; a dict of ``{name: sub-space}`` makes a conditional choice."""
    return Choice(options)


class Space:
    """A compiled search space (see the module docstring)."""

    def __init__(self, spec: Mapping[str, Any] | Space) -> None:
        if isinstance(spec, Space):
            spec = spec.spec
        if not isinstance(spec, Mapping):
            raise InvalidSpace(
                f"a search space is a dict of parameter names to dimensions, got "
                f"{type(spec).__name__}; e.g. {{'lr': sy.loguniform(1e-4, 1e-1)}}"
            )
        for key in spec:
            if not isinstance(key, str) or not key or "." in key:
                raise InvalidSpace(
                    f"invalid parameter name {key!r} in the search space: a non-empty "
                    "string without dots (nest dicts instead of dotted names)"
                )
        self.spec: dict[str, Any] = dict(spec)
        self._dims: dict[str, Dimension] = {}
        self._collect(self.spec, "", {})

    # ------------------------------------------------------------------ structure
    def _collect(self, spec: Mapping[str, Any], prefix: str, seen: dict[str, Dimension]) -> None:
        for key, value in spec.items():
            path = prefix + key
            if isinstance(value, Dimension):
                known = self._dims.get(path)
                if known is not None and known != value:
                    raise InvalidSpace(
                        f"parameter {path!r} is defined twice with different ranges "
                        f"({known!r} and {value!r}), in two branches of a choice; give the "
                        "two parameters different names",
                        details={"param": path},
                    )
                self._dims[path] = value
                if isinstance(value, Choice) and value.branches is not None:
                    for branch in value.branches.values():
                        self._collect(branch.spec, prefix, seen)
            elif isinstance(value, Mapping):
                self._collect(value, path + ".", seen)

    @property
    def dimensions(self) -> dict[str, Dimension]:
        """Every searched parameter by its Optuna name (conditional ones included)."""
        return dict(self._dims)

    def distributions(self) -> dict[str, BaseDistribution]:
        return {k: d.distribution() for k, d in self._dims.items()}

    @property
    def is_conditional(self) -> bool:
        return any(isinstance(d, Choice) and d.conditional for d in self._dims.values())

    # ------------------------------------------------------------------ sampling
    def sample(self, trial: Any) -> dict[str, Any]:
        """Ask an Optuna trial for every active parameter; return the nested params."""
        return self._sample(self.spec, "", trial)

    def _sample(self, spec: Mapping[str, Any], prefix: str, trial: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in spec.items():
            path = prefix + key
            if isinstance(value, Dimension):
                raw = value.suggest(trial, path)
                out[key] = value.external(raw)
                if isinstance(value, Choice) and value.branches is not None:
                    out.update(self._sample(value.branches[raw].spec, prefix, trial))
            elif isinstance(value, Mapping):
                out[key] = self._sample(value, path + ".", trial)
            else:
                out[key] = value
        return out

    def params_from_flat(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Rebuild the nested params from Optuna's flat ``{name: value}``."""
        return self._from_flat(self.spec, "", flat)

    def _from_flat(self, spec: Mapping[str, Any], prefix: str, flat: Mapping[str, Any]) -> dict:
        out: dict[str, Any] = {}
        for key, value in spec.items():
            path = prefix + key
            if isinstance(value, Dimension):
                if path not in flat:
                    continue
                raw = flat[path]
                out[key] = value.external(raw)
                if isinstance(value, Choice) and value.branches is not None:
                    out.update(self._from_flat(value.branches[raw].spec, prefix, flat))
            elif isinstance(value, Mapping):
                out[key] = self._from_flat(value, path + ".", flat)
            else:
                out[key] = value
        return out

    def flat_from_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna's flat ``{name: value}`` for user params (for :meth:`Study.enqueue`)."""
        flat: dict[str, Any] = {}
        self._to_flat(self.spec, "", params, flat)
        return flat

    def _to_flat(
        self, spec: Mapping[str, Any], prefix: str, params: Mapping[str, Any], flat: dict
    ) -> None:
        for key, value in spec.items():
            path = prefix + key
            if isinstance(value, Dimension):
                if key not in params:
                    raise InvalidSpace(
                        f"the configuration {dict(params)!r} has no value for {path!r}; "
                        "give every searched parameter",
                        details={"param": path},
                    )
                given = params[key]
                if isinstance(value, Choice):
                    label = _label(given)
                    if label not in value._labels:
                        raise InvalidSpace(
                            f"{given!r} is not an option of {path!r} ({value!r})",
                            details={"param": path},
                        )
                    flat[path] = label
                    if value.branches is not None:
                        self._to_flat(value.branches[label].spec, prefix, params, flat)
                    continue
                if not value.contains(given):
                    raise InvalidSpace(
                        f"{given!r} is outside the range of {path!r} ({value!r})",
                        details={"param": path},
                    )
                flat[path] = given
            elif isinstance(value, Mapping):
                sub = params.get(key)
                if not isinstance(sub, Mapping):
                    raise InvalidSpace(
                        f"the configuration needs a dict for {path!r}, got {sub!r}",
                        details={"param": path},
                    )
                self._to_flat(value, path + ".", sub, flat)

    # ------------------------------------------------------------------ grid
    def grid(self) -> list[dict[str, Any]]:
        """Every distinct configuration (as flat Optuna params), branches expanded."""
        return list(self._grid(self.spec, ""))

    def _grid(self, spec: Mapping[str, Any], prefix: str) -> Iterator[dict[str, Any]]:
        parts: list[list[dict[str, Any]]] = []
        for key, value in spec.items():
            path = prefix + key
            if isinstance(value, Dimension):
                options: list[dict[str, Any]] = []
                for v in value.grid(path):
                    if isinstance(value, Choice) and value.branches is not None:
                        for sub in self._grid(value.branches[v].spec, prefix):
                            options.append({path: v, **sub})
                    else:
                        options.append({path: v})
                parts.append(options)
            elif isinstance(value, Mapping):
                parts.append(list(self._grid(value, path + ".")))
        for combo in itertools.product(*parts):
            merged: dict[str, Any] = {}
            for c in combo:
                merged.update(c)
            yield merged

    def grid_size(self) -> int:
        return len(self.grid())

    # ------------------------------------------------------------------ json
    def to_json(self) -> dict[str, Any]:
        return _spec_json(self.spec)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Space:
        return cls(_spec_from_json(data))

    def __repr__(self) -> str:
        return f"Space({self.spec!r})"


def _spec_json(spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if isinstance(value, Dimension):
            out[key] = {"$dim": value.to_json()}
        elif isinstance(value, Mapping):
            out[key] = {"$space": _spec_json(value)}
        else:
            out[key] = {"$fixed": _jsonable(value)}
    return out


def _dim_from_json(d: Mapping[str, Any]) -> Dimension:
    kind = d["kind"]
    if kind == "uniform":
        return Uniform(d["low"], d["high"], d.get("step"))
    if kind == "loguniform":
        return LogUniform(d["low"], d["high"])
    if kind == "integer":
        return Integer(d["low"], d["high"], d.get("step", 1), d.get("log", False))
    if kind == "choice":
        if "branches" in d:
            return Choice({k: _spec_from_json(v) for k, v in d["branches"].items()})
        return Choice(d["options"])
    raise InvalidSpace(f"unknown dimension kind {kind!r} in a stored search space")


def _spec_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if "$dim" in value:
            out[key] = _dim_from_json(value["$dim"])
        elif "$space" in value:
            out[key] = _spec_from_json(value["$space"])
        else:
            out[key] = value["$fixed"]
    return out


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (for tracking params and tables)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
