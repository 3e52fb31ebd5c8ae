"""Trials on a local Ray instance: parallel, reports reach the driver, pruning stops them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import shipyard as sy

from . import _objectives as obj

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'shipyard[ray]'")

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_parallel_trials_on_ray(sqlite_ws: Any, ray_local: None) -> None:
    study = sqlite_ws.studies.create(
        "on-ray",
        obj.slow_curve,
        {"x": sy.uniform(0, 1)},
        metric="score",
        sampler="random",
        pruner="asha",
        n_trials=8,
        executor="ray",
        parallelism=2,
        seed=3,
    )
    study.optimize()
    trials = study.trials()
    assert len(trials) == 8
    assert all(t.state in ("complete", "pruned") for t in trials), [t.error for t in trials]
    assert study.trials("pruned"), "no trial was pruned through the Ray channel"
    assert all(t.last_step < 11 for t in study.trials("pruned"))
    for t in study.trials("complete"):
        assert t.last_step == 11 and len(t.intermediate) == 12
