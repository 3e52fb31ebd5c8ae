"""Small objectives the tuning tests run (importable, so worker processes can load them)."""

from __future__ import annotations

import math
import os
import time
from typing import Any

import shipyard as sy


def quadratic(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """Maximum 1.0 at x = 0.3."""
    return {"score": 1.0 - (params["x"] - 0.3) ** 2}


def curve(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """A learning curve: 20 steps; the final level is set by x (best at x = 1)."""
    score = 0.0
    for step in range(20):
        score = params["x"] * (1 - math.exp(-(step + 1) / 3))
        trial.report(score, step)
        if trial.should_prune():
            raise sy.TrialPruned()
        if params.get("sleep"):
            time.sleep(params["sleep"])
    return {"score": score}


def slow_curve(params: dict[str, Any], trial: Any) -> dict[str, float]:
    score = 0.0
    for step in range(12):
        time.sleep(0.05)
        score = params["x"] * (step + 1)
        trial.report(score, step)
        if trial.should_prune():
            raise sy.TrialPruned()
    return {"score": score}


def sometimes_fails(params: dict[str, Any], trial: Any) -> Any:
    if params["mode"] == "raise":
        raise ValueError(f"bad configuration x={params['x']:.3f}")
    if params["mode"] == "nan":
        return {"score": float("nan")}
    if params["mode"] == "missing":
        return {"accuracy": 0.5}
    return {"score": params["x"]}


def always_fails(params: dict[str, Any], trial: Any) -> Any:
    raise RuntimeError("the data file is missing")


def sleeper(params: dict[str, Any], trial: Any) -> Any:
    time.sleep(params["t"])
    return {"score": params["t"]}


def pid_and_time(params: dict[str, Any], trial: Any) -> Any:
    start = time.time()
    time.sleep(0.3)
    trial.set_user_attr("pid", os.getpid())
    trial.set_user_attr("span", [start, time.time()])
    return {"score": params["x"]}


def two_metrics(params: dict[str, Any], trial: Any) -> Any:
    x, y = params["x"], params["y"]
    return {"loss": x**2 + y**2, "cost": (x - 1) ** 2 + (y - 1) ** 2}


def branchy(params: dict[str, Any], trial: Any) -> Any:
    if params["model"] == "linear":
        assert set(params) == {"model", "alpha", "epochs"}, params
        return {"score": -params["alpha"]}
    assert set(params) == {"model", "depth", "leaf", "epochs"}, params
    return {"score": params["depth"] / 10 + params["leaf"]}


def stubborn(params: dict[str, Any], trial: Any) -> dict[str, float]:
    """Never looks at should_prune(): the driver has to stop it by force."""
    score = 0.0
    for step in range(40):
        time.sleep(0.05)
        score = params["x"] * (step + 1)
        trial.report(score, step)
    return {"score": score}
