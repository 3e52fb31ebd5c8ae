"""Pipelines: results across executors, caching, failure, resume, retries, timeouts, lineage."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard as sy
from shipyard.compute import ResourcesUnavailable, UnknownExecutor, get_executor
from shipyard.core import InvalidInput, NotFound
from shipyard.pipelines import MissingInput, PipelineCycle, load_target
from shipyard.store import Node
from tests.pipelines import flows


@pytest.fixture(autouse=True)
def markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "markers"
    d.mkdir()
    monkeypatch.setenv("SHIPYARD_TEST_MARKERS", str(d))
    return d


@pytest.fixture(scope="module")
def local2() -> Iterator[Any]:
    ex = get_executor("local", cpus=2)
    yield ex
    ex.shutdown()


@pytest.mark.parametrize("executor", ["inline", "local"])
def test_same_results_on_each_executor_and_second_run_is_cached(
    sqlite_ws: Any, executor: str
) -> None:
    run = flows.training.run(params={"n": 20}, executor=executor, ws=sqlite_ws)
    assert run.status == "succeeded", run.error
    assert run.result == {"best": 34.0, "total": 20}
    assert {s.name for s in run.steps} == {
        "load",
        "split",
        "featurize",
        "featurize_2",
        "fit",
        "fit_2",
        "evaluate",
    }
    assert run.cached_steps == 0
    train = run.output("split", "train")
    assert isinstance(train, pd.DataFrame) and len(train) == 15
    assert isinstance(run.output("featurize"), np.ndarray)
    again = flows.training.run(params={"n": 20}, executor=executor, ws=sqlite_ws)
    assert again.status == "succeeded"
    assert again.cached_steps == 7 and all(s.status == "cached" for s in again.steps)
    assert again.result == run.result
    assert again.step("fit").cached_from == run.step("fit").id


def test_backends_postgres_s3_and_sqlite(ws: Any) -> None:
    run = flows.training.run(params={"n": 12}, executor="local", ws=ws)
    assert run.status == "succeeded", run.error
    assert run.result == {"best": 20.0, "total": 12}
    assert flows.training.run(params={"n": 12}, executor="inline", ws=ws).cached_steps == 7


def test_parameter_and_input_changes_invalidate_downstream(sqlite_ws: Any) -> None:
    base = flows.training.run(params={"n": 20, "seed": 0}, executor="inline", ws=sqlite_ws)
    seed = flows.training.run(params={"n": 20, "seed": 1}, executor="inline", ws=sqlite_ws)
    # the seed only reaches fit / fit_2 and, through them, evaluate
    assert {s.name for s in seed.steps if not s.cached} == {"fit", "fit_2", "evaluate"}
    data = flows.training.run(params={"n": 24, "seed": 0}, executor="inline", ws=sqlite_ws)
    assert data.cached_steps == 0  # new input data: everything downstream of load reruns
    assert base.result != data.result


def test_cache_ignore_is_honoured(sqlite_ws: Any) -> None:
    flows.ignoring.run(params={"verbose": False}, executor="inline", ws=sqlite_ws)
    run = flows.ignoring.run(params={"verbose": True}, executor="inline", ws=sqlite_ws)
    assert run.step("fit_ignoring").cached


def test_code_change_invalidates_the_step_and_everything_downstream(
    sqlite_ws: Any, tmp_path: Path
) -> None:
    src = tmp_path / "flow.py"
    code = """
import shipyard as sy

@sy.step
def first(x: int) -> int:
    return x + 1

@sy.step
def second(x: int) -> int:
    return x * 2

@sy.step
def third(x: int) -> int:
    return x - 3

@sy.pipeline
def flow(x: int = 1):
    return third(second(first(x)))
"""
    src.write_text(code)
    r1 = sqlite_ws.pipelines.run(f"{src}:flow", executor="inline")
    assert r1.result == 1
    src.write_text(code.replace("return x * 2", "return x * 2  # same value, new code"))
    r2 = sqlite_ws.pipelines.run(f"{src}:flow", executor="inline")
    assert [s.cached for s in r2.steps] == [True, False, False]
    assert r2.result == 1
    src.write_text(code.replace("return x * 2", "return x * 3"))
    r3 = sqlite_ws.pipelines.run(f"{src}:flow", executor="local")
    assert [s.cached for s in r3.steps] == [True, False, False]
    assert r3.result == 3


def test_failure_skips_dependents_lets_branches_finish_then_resume(
    sqlite_ws: Any, markers: Path
) -> None:
    (markers / "break").touch()
    run = flows.branches.run(executor="inline", ws=sqlite_ws)
    assert run.status == "failed"
    states = {s.name: s.status for s in run.steps}
    assert states == {
        "source": "succeeded",
        "source_2": "succeeded",
        "fragile": "failed",
        "after_fragile": "skipped",
        "slow": "succeeded",
    }
    assert "fragile step broke on purpose" in (run.error or "")
    assert "RuntimeError" in (run.step("fragile").traceback or "")
    (markers / "break").unlink()
    done = sqlite_ws.pipelines.resume(run.id)
    assert done.id == run.id and done.status == "succeeded"
    assert flows.count("source1") == 1 and flows.count("slow") == 1  # not redone
    assert flows.count("fragile") == 2 and flows.count("after_fragile") == 1
    assert done.result == (11, 2)


def test_retries_with_backoff(sqlite_ws: Any) -> None:
    t = time.perf_counter()
    run = flows.retrying.run(executor="inline", ws=sqlite_ws)
    assert run.status == "succeeded"
    assert run.step("flaky").attempts == 3
    assert time.perf_counter() - t >= 0.05 + 0.1  # 0.05 s, then 0.1 s


def test_timeout_kills_the_step_process_and_says_so(sqlite_ws: Any, local2: Any) -> None:
    t = time.perf_counter()
    run = flows.too_slow.run(executor=local2, ws=sqlite_ws)
    assert time.perf_counter() - t < 15
    assert run.status == "failed"
    assert "timed out after 1s" in (run.step("sleepy").error or "")


def test_steps_run_in_parallel_but_never_over_commit(sqlite_ws: Any, local2: Any) -> None:
    flows.parallel.run(params={"k": 2}, executor=local2, ws=sqlite_ws)  # both workers warm
    run = flows.parallel.run(params={"k": 2}, executor=local2, ws=sqlite_ws)
    spans = [run.output(f"burn{'' if i == 0 else f'_{i + 1}'}") for i in range(2)]
    assert max(s for s, _ in spans) < min(e for _, e in spans)  # overlapped
    run = flows.parallel.run(params={"k": 3, "wide": True}, executor=local2, ws=sqlite_ws)
    spans = sorted(run.output(s.name) for s in run.steps)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 >= e1 - 0.01  # 2-CPU steps on a 2-CPU budget: one at a time


def test_fan_out_and_join(sqlite_ws: Any) -> None:
    run = flows.fan.run(params={"n": 50}, executor="inline", ws=sqlite_ws)
    assert run.result == sum(range(1, 51))
    assert len(run.steps) == 51


def test_unmaterializable_output_names_step_and_type(sqlite_ws: Any) -> None:
    run = flows.unmaterializable.run(executor="inline", ws=sqlite_ws)
    assert run.status == "failed"
    err = run.step("bad_output").error or ""
    assert "step 'bad_output' returned _thread.lock" in err
    assert "register_materializer" in err


def test_bad_pipelines_are_refused_before_anything_is_written(sqlite_ws: Any) -> None:
    @sy.pipeline
    def cyclic():
        a = flows.inc(1)
        b = flows.inc(a)
        a.after(b)

    with pytest.raises(PipelineCycle, match="dependency cycle among steps inc, inc_2"):
        cyclic.run(executor="inline", ws=sqlite_ws)

    @sy.pipeline
    def missing():
        return flows.evaluate(flows.fit(flows.featurize(flows.load())))

    with pytest.raises(MissingInput, match="step 'evaluate' was called with the wrong inputs"):
        missing.run(executor="inline", ws=sqlite_ws)
    with pytest.raises(UnknownExecutor, match="unknown executor 'spark'"):
        flows.fan.run(executor="spark", ws=sqlite_ws)
    with pytest.raises(ResourcesUnavailable, match="512 CPUs"):
        flows.greedy.run(executor="local", ws=sqlite_ws)
    with pytest.raises(InvalidInput, match="pipeline 'fan' has no parameter 'm'"):
        flows.fan.run(params={"m": 1}, executor="inline", ws=sqlite_ws)
    with pytest.raises(NotFound, match="has no pipeline 'nope'"):
        load_target("tests.pipelines.flows:nope")
    assert sqlite_ws.pipelines.list() == []


def test_records_and_lineage(sqlite_ws: Any) -> None:
    made: list[str] = []

    @sy.step(cache=False)
    def produce(x: int) -> int:
        obj = Node("artifact", f"a{x}", "made inside a step")
        sqlite_ws.lineage.created(obj)
        made.append(obj.key)
        return x

    @sy.pipeline
    def lin():
        return produce(flows.inc(1))

    run = lin.run(executor="inline", ws=sqlite_ws)
    step = run.step("produce")
    up = sqlite_ws.lineage.upstream("artifact:a2")
    assert f"step_run:{step.id}" in up.nodes
    assert f"pipeline_run:{run.id}" in up.nodes
    assert f"step_run:{run.step('inc').id}" in up.nodes
    assert step.executor == "inline" and step.duration_s is not None
    assert step.resources == {"cpus": 1, "gpus": 0, "memory": "2GiB"}
    listed = sqlite_ws.pipelines.list()
    assert [r.id for r in listed] == [run.id]
    assert sqlite_ws.pipelines.get(run.id[:10]).id == run.id


def test_objects_with_lineage_pass_by_reference(sqlite_ws: Any) -> None:
    class FakeVersion:
        lineage_node = Node("dataset_version", "DV1", "digits@1")
        ref = "digits@1"

    @sy.step(cache=False)
    def make() -> Any:
        return FakeVersion()

    @sy.pipeline
    def refs():
        return make()

    run = refs.run(executor="inline", ws=sqlite_ws)
    out = run.step("make").outputs["output"]
    assert (out["ref_kind"], out["ref_id"], out["digest"]) == ("dataset_version", "DV1", None)
    assert out["preview"] == "dataset_version digits@1"  # what the UI shows
    assert "dataset_version:DV1" in sqlite_ws.lineage.downstream(run.step("make")).nodes


@pytest.mark.slow
def test_sigkill_of_the_driver_then_resume(sqlite_ws: Any, markers: Path) -> None:
    env = {**os.environ, "SHIPYARD_HOME": str(sqlite_ws.home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard",
            "pipelines",
            "run",
            "tests.pipelines.flows:killable",
            "-q",
            "--executor",
            "local",
        ],
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 60
    run = None
    while time.time() < deadline:
        runs = sqlite_ws.pipelines.list()
        if runs:
            run = sqlite_ws.pipelines.get(runs[0].id)
            if run.step("step_one").status == "succeeded" and flows.count("step_two") == 1:
                break
        time.sleep(0.1)
    assert run is not None and run.step("step_one").status == "succeeded"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert sqlite_ws.pipelines.get(run.id).status == "running"  # the driver died mid-run
    (markers / "release").touch()
    done = sqlite_ws.pipelines.resume(run.id, executor="inline")
    assert done.status == "succeeded" and done.result == 6
    assert flows.count("step_one") == 1  # finished step not redone
    assert flows.count("step_two") == 2
