"""The ray executor against a local Ray instance: same results as the other backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'shipyard[ray]'")

from shipyard.compute import Resources, ResourcesUnavailable, TaskFailed, get_executor, report  # noqa: E402

pytestmark = pytest.mark.ray


def _work(x: int) -> int:
    print("working on", x)
    report({"progress": x})
    return x * 3


def _fail() -> None:
    raise KeyError("missing")


@pytest.fixture(scope="module")
def ray_executor() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ex = get_executor("ray")
    yield ex
    ex.shutdown()
    ray.shutdown()


def test_ray_results_logs_messages_and_errors(ray_executor: Any) -> None:
    h = ray_executor.submit(_work, 7, resources=Resources(cpus=1, memory="100MiB"))
    assert h.result(120) == 21
    assert "working on 7" in h.logs()
    assert h.next_message(10) == {"progress": 7}
    with pytest.raises(TaskFailed, match="KeyError"):
        ray_executor.submit(_fail).result(120)
    with pytest.raises(ResourcesUnavailable, match="64 CPUs"):
        ray_executor.submit(_work, 1, resources=Resources(cpus=64))


@pytest.mark.slow
def test_same_pipeline_result_on_ray(sqlite_ws: Any, ray_executor: Any) -> None:
    from tests.pipelines import flows

    on_ray = flows.training.run(params={"n": 20}, executor=ray_executor, ws=sqlite_ws)
    assert on_ray.status == "succeeded", on_ray.error
    assert {s.executor for s in on_ray.steps} == {"ray"}
    inline = flows.training.run(params={"n": 20, "seed": 5}, executor="inline", ws=sqlite_ws)
    assert on_ray.result["total"] == inline.result["total"] == 20
    assert on_ray.result == {"best": 34.0, "total": 20}
