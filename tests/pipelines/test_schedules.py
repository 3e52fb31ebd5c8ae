"""Schedules: each tick claimed once even with two schedulers; catch-up policies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import shipyard as sy
from shipyard.core import AlreadyExists, InvalidInput, NotFound

TARGET = "tests.pipelines.flows:fan"
T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def test_two_schedulers_claim_each_tick_once(ws: Any) -> None:
    ws.pipelines.schedules.add(
        TARGET, "0 * * * *", name="hourly", params={"n": 3}, executor="inline", start_at=T0
    )
    other = sy.Workspace(settings=ws.settings)
    now = T0 + timedelta(hours=1, minutes=5)
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def tick(name: str, w: Any) -> None:
        barrier.wait()
        results[name] = w.pipelines.schedules.run_due(now, by=name)

    threads = [
        threading.Thread(target=tick, args=("a", ws)),
        threading.Thread(target=tick, args=("b", other)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    other.close()
    started = results["a"] + results["b"]
    assert len(started) == 1
    ticks = ws.pipelines.schedules.ticks("hourly")
    assert [(t["tick_at"], t["status"]) for t in ticks] == [(T0 + timedelta(hours=1), "started")]
    run = ws.pipelines.get(started[0])
    assert run.status == "succeeded" and run.result == 6 and run.params == {"n": 3}
    # the same tick is never run again
    assert ws.pipelines.schedules.run_due(now, by="c") == []


@pytest.mark.parametrize(
    ("policy", "runs", "skipped"), [("all", 3, 0), ("latest", 1, 2), ("none", 0, 3)]
)
def test_catch_up_policies(sqlite_ws: Any, policy: str, runs: int, skipped: int) -> None:
    s = sqlite_ws.pipelines.schedules
    s.add(TARGET, "0 * * * *", name="h", executor="inline", catchup=policy, start_at=T0)
    started = s.run_due(T0 + timedelta(hours=3, minutes=30))
    assert len(started) == runs
    statuses = [t["status"] for t in s.ticks("h")]
    assert statuses.count("skipped") == skipped
    assert statuses.count("started") == runs


def test_schedule_bad_input_and_removal(sqlite_ws: Any) -> None:
    s = sqlite_ws.pipelines.schedules
    with pytest.raises(InvalidInput, match="invalid cron expression 'every hour'"):
        s.add(TARGET, "every hour")
    with pytest.raises(InvalidInput, match="invalid catchup 'some'"):
        s.add(TARGET, "* * * * *", catchup="some")
    with pytest.raises(InvalidInput, match="pipeline 'fan' has no parameter 'x'"):
        s.add(TARGET, "* * * * *", params={"x": 1})
    assert s.list() == []
    s.add(TARGET, "* * * * *")
    with pytest.raises(AlreadyExists, match="a schedule named 'fan' exists already"):
        s.add(TARGET, "*/5 * * * *")
    assert [r["name"] for r in s.list()] == ["fan"]
    s.remove("fan")
    with pytest.raises(NotFound, match="no schedule 'fan'"):
        s.remove("fan")
