"""Executors: results, logs, the message channel, resource accounting, cancel, jobs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shipyard.compute import (
    Resources,
    ResourcesUnavailable,
    TaskCancelled,
    TaskFailed,
    UnknownExecutor,
    get_executor,
    report,
    should_stop,
)
from shipyard.core import InvalidInput


def _double(x: int) -> int:
    print("doubling", x)
    return 2 * x


def _span(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def _chatty(n: int) -> int:
    for i in range(n):
        report({"step": i, "loss": 1.0 / (i + 1)})
    return n


def _until_stopped() -> str:
    deadline = time.time() + 20
    while time.time() < deadline:
        if should_stop():
            return "stopped"
        time.sleep(0.02)
    return "not stopped"


def _boom() -> None:
    raise ValueError("bad value 42")


@pytest.fixture(scope="module")
def local() -> Iterator[Any]:
    ex = get_executor("local", cpus=2)
    yield ex
    ex.shutdown()


@pytest.mark.parametrize("name", ["inline", "local"])
def test_result_logs_and_messages(name: str, local: Any) -> None:
    ex = local if name == "local" else get_executor("inline", tee=False)
    h = ex.submit(_double, 21, name="double")
    assert h.result(30) == 42
    assert h.status == "succeeded"
    assert "doubling 21" in h.logs()
    h = ex.submit(_chatty, 3)
    assert h.result(30) == 3
    time.sleep(0.05)
    assert [m["step"] for m in h.messages()] == [0, 1, 2]


@pytest.mark.parametrize("name", ["inline", "local"])
def test_failure_carries_the_remote_traceback(name: str, local: Any) -> None:
    ex = local if name == "local" else get_executor("inline", tee=False)
    h = ex.submit(_boom)
    with pytest.raises(TaskFailed, match="ValueError: bad value 42") as info:
        h.result(30)
    assert "_boom" in info.value.remote_traceback
    assert h.status == "failed"


def test_two_cpu_tasks_never_overlap_on_a_two_cpu_budget(local: Any) -> None:
    handles = [local.submit(_span, 0.3, resources=Resources(cpus=2)) for _ in range(3)]
    spans = sorted(h.result(60) for h in handles)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
        assert s2 >= e1 - 0.01, spans


def test_one_cpu_tasks_run_in_parallel(local: Any) -> None:
    local.submit(_double, 0).result(30)  # warm both workers
    local.submit(_double, 1).result(30)
    handles = [local.submit(_span, 1.0, resources=Resources(cpus=1)) for _ in range(2)]
    spans = [h.result(60) for h in handles]
    assert max(s for s, _ in spans) < min(e for _, e in spans), spans


def test_cancel_kills_a_running_task_and_the_pool_recovers(local: Any) -> None:
    h = local.submit(time.sleep, 30)
    deadline = time.time() + 20
    while h.status != "running" and time.time() < deadline:
        time.sleep(0.02)
    assert h.cancel()
    with pytest.raises(TaskCancelled):
        h.result(10)
    assert h.status == "cancelled"
    assert local.submit(_double, 5).result(30) == 10


def test_request_stop_reaches_a_cooperative_task(local: Any) -> None:
    h = local.submit(_until_stopped)
    deadline = time.time() + 20
    while h.status != "running" and time.time() < deadline:
        time.sleep(0.02)
    h.request_stop()
    assert h.result(20) == "stopped"


def test_commands_return_exit_code_and_output(local: Any) -> None:
    h = local.submit_command(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert h.result(30) == 3
    assert h.logs() == "out\nerr\n"


def test_resources_larger_than_the_machine_are_refused_up_front(local: Any) -> None:
    with pytest.raises(ResourcesUnavailable, match=r"cannot run a task asking for 64 CPUs"):
        local.submit(_double, 1, resources=Resources(cpus=64))
    with pytest.raises(ResourcesUnavailable, match="GPUs"):
        local.submit(_double, 1, resources=Resources(gpus=99))
    with pytest.raises(ResourcesUnavailable, match="memory"):
        local.submit(_double, 1, resources=Resources(memory="1000TiB"))


def test_bad_resources_and_unknown_executor() -> None:
    with pytest.raises(InvalidInput, match="invalid memory '2 gigs'"):
        Resources(memory="2 gigs")
    with pytest.raises(InvalidInput, match="cpus"):
        Resources(cpus=-1)
    with pytest.raises(UnknownExecutor, match=r"unknown executor 'kubernetes'.*inline, local, ray"):
        get_executor("kubernetes")
    assert Resources(memory="1GiB").memory_bytes == 1024**3
    assert Resources(memory="1.5GB").memory_bytes == 1_500_000_000


def test_jobs_record_status_exit_code_and_streamed_logs(sqlite_ws: Any) -> None:
    job = sqlite_ws.jobs.submit(
        ["sh", "-c", "echo line1; echo line2; exit 4"], executor="inline", name="demo"
    )
    assert job.status == "failed" and job.exit_code == 4
    text, nxt = sqlite_ws.jobs.logs(job.id)
    assert text == "line1\nline2\n" and nxt >= 1
    ok = sqlite_ws.jobs.submit(["sh", "-c", "echo fine"], executor="inline")
    assert ok.status == "succeeded" and ok.exit_code == 0
    assert [j.id for j in sqlite_ws.jobs.list()] == [ok.id, job.id]
    assert "".join(sqlite_ws.jobs.follow(ok.id)) == "fine\n"


def test_job_cancel_and_bad_input(sqlite_ws: Any) -> None:
    queued = sqlite_ws.jobs.create(["sleep", "10"], executor="local")
    assert sqlite_ws.jobs.cancel(queued.id).status == "cancelled"
    with pytest.raises(InvalidInput, match="empty command"):
        sqlite_ws.jobs.submit([], executor="inline")
    with pytest.raises(UnknownExecutor, match="unknown executor 'nope'"):
        sqlite_ws.jobs.submit(["true"], executor="nope")
    assert len(sqlite_ws.jobs.list()) == 1  # nothing half-written


def test_detached_job_can_be_cancelled_from_another_process(sqlite_ws: Any) -> None:
    job = sqlite_ws.jobs.submit(
        ["sh", "-c", "echo started; sleep 30"], executor="local", wait=False
    )
    deadline = time.time() + 60
    while "started" not in sqlite_ws.jobs.logs(job.id)[0] and time.time() < deadline:
        time.sleep(0.1)  # output is readable while the job runs
    assert sqlite_ws.jobs.get(job.id).status == "running"
    sqlite_ws.jobs.cancel(job.id)
    while sqlite_ws.jobs.get(job.id).status == "running" and time.time() < deadline:
        time.sleep(0.1)
    final = sqlite_ws.jobs.get(job.id)
    assert final.status == "cancelled", final
    assert "started" in sqlite_ws.jobs.logs(job.id)[0]


def _visible_gpus(seconds: float) -> tuple[str, float, float]:
    import os

    start = time.time()
    time.sleep(seconds)
    return os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"), start, time.time()


def test_gpus_are_handed_out_by_index_and_never_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipyard.compute import Machine, _local

    fake = Machine(cpus=2, gpus=(0, 1), memory=8 * 1024**3)
    monkeypatch.setattr(_local, "machine", lambda: fake)
    ex = _local.LocalExecutor()
    try:
        gpu_tasks = [
            ex.submit(_visible_gpus, 0.4, resources=Resources(cpus=0.5, gpus=1, memory=0))
            for _ in range(3)
        ]
        both = ex.submit(_visible_gpus, 0.1, resources=Resources(cpus=0.5, gpus=2, memory=0))
        cpu = ex.submit(_visible_gpus, 0.0, resources=Resources(cpus=0.5, memory=0))
        results = [h.result(60) for h in gpu_tasks]
        assert {r[0] for r in results} <= {"0", "1"}
        for i, a in enumerate(results):  # tasks on the same GPU never overlap
            for b in results[i + 1 :]:
                if a[0] == b[0]:
                    assert a[2] <= b[1] + 0.01 or b[2] <= a[1] + 0.01
        assert both.result(60)[0] == "0,1"
        assert cpu.result(60)[0] == ""  # CPU-only tasks see no GPU
        with pytest.raises(ResourcesUnavailable, match="3 GPUs"):
            ex.submit(_visible_gpus, 0, resources=Resources(gpus=3))
    finally:
        ex.shutdown()
