"""Resume after the driver is killed (SIGKILL), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.tuning.tables import tuning_studies

from . import _objectives as obj

DRIVER = textwrap.dedent(
    """
    import sys
    import time

    import shipyard as sy


    def objective(params, trial):
        time.sleep(0.4)
        return {"score": 1.0 - (params["x"] - 0.7) ** 2}


    if __name__ == "__main__":
        ws = sy.Workspace(sys.argv[1], db=sys.argv[2])
        study = ws.studies.create(
            "killed", objective, {"x": sy.uniform(0, 1)}, metric="score", sampler="tpe",
            pruner="none", n_trials=10, executor="inline", parallelism=1, seed=0,
        )
        study.optimize()
    """
)


def _counts(ws: Any) -> dict[str, int]:
    try:
        return ws.studies.get("killed").counts()
    except sy.NotFound:
        return {}


def test_resume_after_sigkill_reaches_exactly_n_trials(db_url: str, tmp_path: Path) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    home = tmp_path / "ws"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), str(home), db_url], env=env)
    ws = sy.Workspace(home, db=db_url)
    try:
        deadline = time.monotonic() + 90
        while True:
            c = _counts(ws)
            if c.get("complete", 0) >= 4 and c.get("running", 0) == 1:
                break
            assert proc.poll() is None, "the driver ended before it was killed"
            assert time.monotonic() < deadline, f"the driver made no progress: {c}"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed = ws.studies.get("killed")
        assert killed.status == "running"  # the dead driver could not record anything
        before = killed.trials()
        done_before = [t for t in before if t.state == "complete"]
        orphan = [t for t in before if t.state == "running"]
        assert len(orphan) == 1 and len(done_before) >= 4
        orphan_run = orphan[0].run_id

        study = ws.studies.get("killed").resume()  # the objective comes from the blob store

        trials = study.trials()
        assert len(trials) == 10
        assert [t.number for t in trials] == list(range(10))
        assert all(t.state == "complete" for t in trials)
        assert study.status == "completed"
        again = next(t for t in trials if t.number == orphan[0].number)
        assert again.source == "requeued" and again.attempts == 2
        assert again.run_id != orphan_run
        dead_run = ws.runs.get(orphan_run)
        assert dead_run.status == "failed" and "re-queued" in dead_run.error
        # finished trials were kept as they were, not run again
        for t in done_before:
            kept = next(x for x in trials if x.number == t.number)
            assert kept.run_id == t.run_id and kept.values == t.values
        assert len(ws.lineage.downstream(study.lineage_node, depth=1).keys("run")) == 11
    finally:
        if proc.poll() is None:
            proc.kill()
        ws.close()


def test_resume_rebuilds_the_sampler_from_stored_trials(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "rebuild",
        obj.quadratic,
        {"x": sy.uniform(0, 1)},
        metric="score",
        sampler="grid" if False else "tpe",
        n_trials=4,
        executor="inline",
        seed=1,
    )
    study.optimize()
    first = [t.params["x"] for t in study.trials()]
    study.optimize(n_trials=12)  # a new total: 8 more trials, TPE sees the first 4
    trials = study.trials()
    assert len(trials) == 12 and [t.params["x"] for t in trials[:4]] == first
    # TPE, having seen the history, concentrates near the optimum x = 0.3
    late = [abs(t.params["x"] - 0.3) for t in trials[8:]]
    assert min(late) < 0.15


def test_grid_resume_skips_configurations_already_run(sqlite_ws: Any) -> None:
    space = {"x": sy.choice([0.1, 0.2, 0.3, 0.4]), "k": sy.integer(1, 3)}
    study = sqlite_ws.studies.create(
        "grid-resume",
        obj.quadratic,
        space,
        metric="score",
        sampler="grid",
        n_trials=5,
        executor="inline",
        seed=0,
    )
    study.optimize()
    study.optimize(n_trials=12)
    seen = [(t.params["x"], t.params["k"]) for t in study.trials()]
    assert len(seen) == 12 and len(set(seen)) == 12


def test_a_live_driver_is_not_taken_over(sqlite_ws: Any) -> None:
    study = sqlite_ws.studies.create(
        "busy",
        obj.quadratic,
        {"x": sy.uniform(0, 1)},
        metric="score",
        n_trials=2,
        executor="inline",
    )
    with sqlite_ws.db.write() as conn:
        conn.execute(
            tuning_studies.update()
            .where(tuning_studies.c.id == study.id)
            .values(
                status="running",
                driver={"token": "x", "host": socket.gethostname(), "pid": os.getppid()},
                heartbeat_at=sy.core.utcnow(),
            )
        )
    with pytest.raises(sy.Conflict, match="being optimized by another driver"):
        study.resume()
    assert study.trials() == []
    study.resume(takeover=True)
    assert len(study.trials("complete")) == 2
    row = (
        sqlite_ws.db.engine.connect()
        .execute(sa.select(tuning_studies.c.driver).where(tuning_studies.c.id == study.id))
        .scalar()
    )
    assert row is None


def test_an_interrupted_study_requeues_its_running_trial(sqlite_ws: Any) -> None:
    calls = {"n": 0}

    def objective(params: dict[str, Any], trial: Any) -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return {"score": params["x"]}

    study = sqlite_ws.studies.create(
        "ctrl-c",
        objective,
        {"x": sy.uniform(0, 1)},
        metric="score",
        n_trials=5,
        executor="inline",
        seed=0,
    )
    with pytest.raises(KeyboardInterrupt):
        study.optimize()
    assert study.status == "interrupted"
    trials = study.trials()
    assert [t.state for t in trials] == ["complete", "complete", "waiting"]
    assert trials[2].source == "requeued" and trials[2].run_id is None
    study.resume()
    trials = study.trials()
    assert [t.state for t in trials] == ["complete"] * 5
    assert trials[2].attempts == 2 and trials[2].run_id
    killed = [r for r in sqlite_ws.runs.search(experiments=["ctrl-c"]) if r.status == "killed"]
    assert len(killed) == 1 and "re-queued" in killed[0].error


def test_garbage_collection_keeps_the_stored_objective(sqlite_ws: Any) -> None:
    from shipyard.store._gc import collect_garbage, referenced_digests

    study = sqlite_ws.studies.create(
        "kept",
        obj.quadratic,
        {"x": sy.uniform(0, 1)},
        metric="score",
        n_trials=1,
        executor="inline",
    )
    assert study.objective_digest in referenced_digests(sqlite_ws.db, sqlite_ws.blobs)
    orphan = sqlite_ws.blobs.put_bytes(b"nothing refers to this")
    collect_garbage(sqlite_ws.db, sqlite_ws.blobs, dry_run=False, grace_seconds=0)
    assert not sqlite_ws.blobs.exists(orphan)
    assert sqlite_ws.blobs.exists(study.objective_digest)
    assert sqlite_ws.studies.get("kept").resume().counts() == {"complete": 1}
