"""Pipelines used by the tests (importable, so local workers and resume can load them)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

import shipyard as sy
from shipyard.compute import Resources


@sy.step
def load(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.arange(n) % 2})


@sy.step(outputs=("train", "test"))
def split(df: pd.DataFrame, frac: float = 0.75) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = int(len(df) * frac)
    return df.iloc[:cut], df.iloc[cut:]


@sy.step
def featurize(df: pd.DataFrame) -> np.ndarray:
    return df[["x"]].to_numpy() * 2.0


@sy.step
def fit(features: np.ndarray, seed: int = 0, verbose: bool = False) -> dict:
    if verbose:
        print("fitting", features.shape)
    return {"mean": float(features.mean()), "n": len(features), "seed": seed}


@sy.step(cache_ignore=["verbose"])
def fit_ignoring(features: np.ndarray, verbose: bool = False) -> dict:
    return {"mean": float(features.mean())}


@sy.step
def evaluate(a: dict, b: dict) -> dict:
    return {"best": max(a["mean"], b["mean"]), "total": a["n"] + b["n"]}


@sy.pipeline
def training(n: int = 20, seed: int = 0):
    df = load(n)
    train, test = split(df)
    f_train = featurize(train)
    f_test = featurize(test)
    m1 = fit(f_train, seed=seed)
    m2 = fit(f_test, seed=seed + 1)
    return evaluate(m1, m2)


@sy.pipeline
def ignoring(verbose: bool = False):
    return fit_ignoring(featurize(load(10)), verbose=verbose)


# ------------------------------------------------------------- failure and resume
def _marker_dir() -> Path:
    return Path(os.environ["SHIPYARD_TEST_MARKERS"])


def _count(name: str) -> None:
    with open(_marker_dir() / f"{name}.count", "a") as f:
        f.write("x")


def count(name: str) -> int:
    p = _marker_dir() / f"{name}.count"
    return len(p.read_text()) if p.exists() else 0


@sy.step(cache=False)
def source(v: int) -> int:
    _count(f"source{v}")
    return v


@sy.step(cache=False)
def fragile(v: int) -> int:
    _count("fragile")
    if (_marker_dir() / "break").exists():
        raise RuntimeError("fragile step broke on purpose")
    return v * 10


@sy.step(cache=False)
def after_fragile(v: int) -> int:
    _count("after_fragile")
    return v + 1


@sy.step(cache=False)
def slow(v: int) -> int:
    _count("slow")
    gate = _marker_dir() / "gate"
    while (_marker_dir() / "hold").exists() and not gate.exists():
        time.sleep(0.05)
    return v


@sy.pipeline
def branches():
    a = source(1)
    b = source(2)
    broken = after_fragile(fragile(a))
    fine = slow(b)
    return broken, fine


@sy.step(cache=False, retries=2, retry_delay=0.05)
def flaky() -> str:
    _count("flaky")
    if count("flaky") < 3:
        raise ConnectionError("transient")
    return "ok"


@sy.pipeline
def retrying():
    return flaky()


@sy.step(cache=False, timeout=1.0)
def sleepy() -> int:
    time.sleep(30)
    return 1


@sy.pipeline
def too_slow():
    return sleepy()


@sy.step
def bad_output() -> object:
    return threading.Lock()


@sy.pipeline
def unmaterializable():
    return bad_output()


@sy.step(resources=Resources(cpus=512))
def huge() -> int:
    return 1


@sy.pipeline
def greedy():
    return huge()


@sy.step(cache=False, resources=Resources(cpus=1))
def burn(i: int) -> tuple[float, float]:
    start = time.time()
    time.sleep(1.0)
    return start, time.time()


@sy.step(cache=False, resources=Resources(cpus=2))
def burn2(i: int) -> tuple[float, float]:
    start = time.time()
    time.sleep(0.3)
    return start, time.time()


@sy.pipeline
def parallel(k: int = 2, wide: bool = False):
    fn = burn2 if wide else burn
    return [fn(i) for i in range(k)]


@sy.step
def inc(x: int) -> int:
    return x + 1


@sy.step
def total(*xs: int) -> int:
    return sum(xs)


@sy.pipeline
def fan(n: int = 20):
    return total(*[inc(i) for i in range(n)])


@sy.step(cache=False)
def step_one(v: int) -> int:
    _count("step_one")
    return v


@sy.step(cache=False)
def step_two(v: int) -> int:
    _count("step_two")
    while not (_marker_dir() / "release").exists():
        time.sleep(0.05)
    return v + 1


@sy.pipeline
def killable():
    return step_two(step_one(5))
