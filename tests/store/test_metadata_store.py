"""The metadata-store behaviour suite, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shipyard.core import ConfigurationError, InvalidInput, NotFound
from shipyard.store import Database, Lineage, Node, head_revision, load_metadata, migrate


def test_migrations_create_the_whole_schema(db_url: str) -> None:
    db = Database(db_url)
    assert migrate(db) == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_metadata())
    assert diff == [], f"tables and migrations disagree: {diff}"
    db.dispose()


def test_migrate_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    migrate(db)
    from shipyard.store import _schema

    _schema._migrated.clear()
    assert migrate(db) == head_revision()
    db.dispose()


def test_write_rolls_back_on_error(db_url: str) -> None:
    db = Database(db_url)
    migrate(db)
    from shipyard.store.tables import workspace_meta

    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(workspace_meta.insert(), {"key": "k", "value": "v"})
        raise RuntimeError("boom")
    with db.read() as conn:
        assert conn.execute(sa.select(workspace_meta)).all() == []
    db.dispose()


def test_lineage_graph_queries(db_url: str) -> None:
    db = Database(db_url)
    migrate(db)
    lin = Lineage(db)
    raw = Node("dataset_version", "D1", "churn@1")
    split = Node("dataset_version", "D2", "churn-train@1")
    run = Node("run", "R1", "rf")
    model = Node("model_version", "M1", "churn@1")
    dep = Node("deployment", "X1", "prod")
    lin.record(raw, split, "split_from")
    lin.record(split, run, "input_to")
    lin.record(run, model, "produced")
    lin.record(model, dep, "deployed_as")
    lin.record(model, dep, "deployed_as")  # idempotent

    up = lin.upstream(dep)
    assert set(up.nodes) == {dep.key, model.key, run.key, split.key, raw.key}
    assert len(up.edges) == 4
    assert up.depth[raw.key] == -4
    assert set(lin.upstream(dep, depth=2).nodes) == {dep.key, model.key, run.key}
    down = lin.downstream("dataset_version:D1")
    assert set(down.nodes) == {raw.key, split.key, run.key, model.key, dep.key}
    both = lin.graph(run, depth=1)
    assert set(both.nodes) == {split.key, run.key, model.key}
    d = both.to_dict()
    assert d["root"] == "run:R1"
    assert {n["label"] for n in d["nodes"]} == {"churn-train@1", "rf", "churn@1"}
    assert {(e["src"], e["dst"], e["relation"]) for e in d["edges"]} == {
        ("dataset_version:D2", "run:R1", "input_to"),
        ("run:R1", "model_version:M1", "produced"),
    }
    assert lin.counts() == {"dataset_version": 2, "run": 1, "model_version": 1, "deployment": 1}
    with pytest.raises(NotFound, match="no object 'run:nope'"):
        lin.upstream("run:nope")
    with pytest.raises(InvalidInput, match="'<kind>:<id>'"):
        lin.upstream("nokind")
    with pytest.raises(InvalidInput, match="depth"):
        lin.upstream(dep, depth=-1)
    db.dispose()


def test_lineage_reference_by_id_keeps_the_label(db_url: str) -> None:
    db = Database(db_url)
    migrate(db)
    lin = Lineage(db)
    lin.record(Node("dataset_version", "D1", "churn@2"), Node("step_run", "S1", "p/load"), "input")
    # a pipeline passing the version by reference knows only its id
    lin.record(Node("step_run", "S1", "p/load"), Node("dataset_version", "D1", "D1"), "output")
    lin.record(Node("step_run", "S2", ""), Node("dataset_version", "D1"), "output")
    assert lin.node("dataset_version:D1").label == "churn@2"
    lin.add(Node("dataset_version", "D1", "churn@2 (renamed)"))
    assert lin.node("dataset_version:D1").label == "churn@2 (renamed)"
    assert lin.node("step_run:S2").label == "S2"
    db.dispose()


def test_lineage_cycle_terminates(db_url: str) -> None:
    db = Database(db_url)
    migrate(db)
    lin = Lineage(db)
    a, b = Node("x", "A"), Node("x", "B")
    lin.record(a, b, "r")
    lin.record(b, a, "r")
    assert set(lin.upstream(a).nodes) == {"x:A", "x:B"}
    db.dispose()


def test_concurrent_threads_write(db_url: str) -> None:
    db = Database(db_url)
    migrate(db)
    lin = Lineage(db)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(25):
                lin.record(Node("src", f"{t}-{i}"), Node("dst", f"{t}-{i}"), "made")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert lin.counts() == {"src": 200, "dst": 200}
    db.dispose()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("not a url", "invalid database URL 'not a url'"),
        ("mysql://localhost/db", "unsupported database 'mysql'"),
        ("sqlite://", "SQLite needs a file path"),
        ("sqlite:///:memory:", "SQLite needs a file path"),
    ],
)
def test_bad_db_urls(url: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Database(url)
    assert fragment in str(info.value)


def test_objects_created_inside_a_producer_are_linked(db_url: str) -> None:
    from shipyard.store import producing

    db = Database(db_url)
    migrate(db)
    lin = Lineage(db)
    step = Node("step_run", "S1", "train")
    lin.created(Node("run", "outside"))
    with producing(step):
        lin.created(Node("run", "inside", "rf"))
    assert lin.upstream("run:inside").keys() == ["run:inside", "step_run:S1"] or set(
        lin.upstream("run:inside").keys()
    ) == {"run:inside", "step_run:S1"}
    assert set(lin.upstream("run:outside").keys()) == {"run:outside"}
    db.dispose()
