"""Samplers and pruners by name: Optuna's own, built by small factories.

``SAMPLERS`` and ``PRUNERS`` map a name to a factory; third parties may add entries.
Shipyard writes no sampler: ``grid`` is exhaustive search over the enumerated space
(every distinct configuration, conditional branches expanded, deduplicated), fed to
Optuna as enqueued trials, so that resuming skips what already ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from ..core import InvalidInput, did_you_mean


class UnknownSampler(InvalidInput):
    """No sampler is registered under that name."""


class UnknownPruner(InvalidInput):
    """No pruner is registered under that name."""


SamplerFactory = Callable[..., optuna.samplers.BaseSampler]
PrunerFactory = Callable[..., optuna.pruners.BasePruner]


def _tpe(seed: int | None, n_objectives: int, parallelism: int, **opts: Any) -> Any:
    opts.setdefault("multivariate", True)
    opts.setdefault("group", True)  # conditional spaces: one model per group of params
    opts.setdefault("constant_liar", parallelism > 1)
    opts.setdefault("n_startup_trials", 10)
    return optuna.samplers.TPESampler(seed=seed, **opts)


def _random(seed: int | None, n_objectives: int, parallelism: int, **opts: Any) -> Any:
    return optuna.samplers.RandomSampler(seed=seed, **opts)


def _gp(seed: int | None, n_objectives: int, parallelism: int, **opts: Any) -> Any:
    try:
        import torch  # noqa: F401
    except ImportError:
        from ..core import MissingExtra

        raise MissingExtra("the gp sampler", "torch", "torch") from None
    return optuna.samplers.GPSampler(seed=seed, **opts)


def _cmaes(seed: int | None, n_objectives: int, parallelism: int, **opts: Any) -> Any:
    if n_objectives > 1:
        raise InvalidInput(
            "the cmaes sampler optimizes one metric; for two metrics use sampler='nsga2' (or 'tpe')"
        )
    try:
        import cmaes  # noqa: F401
    except ImportError:
        from ..core import MissingExtra

        raise MissingExtra("the cmaes sampler", "tuning", "cmaes") from None
    opts.setdefault("warn_independent_sampling", False)
    return optuna.samplers.CmaEsSampler(seed=seed, **opts)


def _nsga2(seed: int | None, n_objectives: int, parallelism: int, **opts: Any) -> Any:
    return optuna.samplers.NSGAIISampler(seed=seed, **opts)


SAMPLERS: dict[str, SamplerFactory] = {
    "grid": _random,  # every trial is enqueued from the enumerated grid
    "random": _random,
    "tpe": _tpe,
    "gp": _gp,
    "cmaes": _cmaes,
    "nsga2": _nsga2,
}
"""Sampler name → factory ``(seed, n_objectives, parallelism, **options)``."""


def _asha(**opts: Any) -> Any:
    opts.setdefault("min_resource", 1)
    opts.setdefault("reduction_factor", 3)
    return optuna.pruners.SuccessiveHalvingPruner(**opts)


def _hyperband(**opts: Any) -> Any:
    opts.setdefault("min_resource", 1)
    opts.setdefault("reduction_factor", 3)
    return optuna.pruners.HyperbandPruner(**opts)


def _median(**opts: Any) -> Any:
    opts.setdefault("n_startup_trials", 5)
    opts.setdefault("n_warmup_steps", 1)
    return optuna.pruners.MedianPruner(**opts)


def _none(**opts: Any) -> Any:
    return optuna.pruners.NopPruner()


PRUNERS: dict[str, PrunerFactory] = {
    "asha": _asha,
    "successive_halving": _asha,
    "hyperband": _hyperband,
    "median": _median,
    "none": _none,
}
"""Pruner name → factory ``(**options)``."""


def check_sampler(name: Any) -> str:
    if not isinstance(name, str) or name not in SAMPLERS:
        raise UnknownSampler(
            f"unknown sampler {name!r}: {did_you_mean(list(SAMPLERS))}",
            details={"sampler": name, "known": sorted(SAMPLERS)},
        )
    return name


def check_pruner(name: Any) -> str:
    if not isinstance(name, str) or name not in PRUNERS:
        raise UnknownPruner(
            f"unknown pruner {name!r}: {did_you_mean(list(PRUNERS))}",
            details={"pruner": name, "known": sorted(PRUNERS)},
        )
    return name


def make_sampler(
    name: str, seed: int | None, n_objectives: int, parallelism: int, options: dict[str, Any]
) -> optuna.samplers.BaseSampler:
    from ._records import quiet_optuna

    try:
        with quiet_optuna():
            return SAMPLERS[check_sampler(name)](seed, n_objectives, parallelism, **options)
    except TypeError as exc:
        raise InvalidInput(f"invalid options for sampler {name!r}: {exc}") from None


def make_pruner(name: str, options: dict[str, Any]) -> optuna.pruners.BasePruner:
    try:
        return PRUNERS[check_pruner(name)](**options)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid options for pruner {name!r}: {exc}") from None
