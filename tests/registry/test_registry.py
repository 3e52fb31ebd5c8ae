"""Versions, references, signatures, aliases with history, archive/delete, lineage, cards."""

from __future__ import annotations

import itertools
import multiprocessing as mp
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.core import Conflict, InvalidInput, InvalidReference, NotFound
from shipyard.registry import Signature
from shipyard.store import Node
from tests.registry._alias_worker import move_aliases
from tests.registry._models import ThresholdModel, churn_frame, fit_pipeline


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, Any]:
    df = churn_frame()
    return df, fit_pipeline(df)


def test_versions_are_numbered_and_refs_resolve(ws: Any, trained: Any) -> None:
    df, pipe = trained
    X = df.drop(columns="churned")
    v1 = ws.models.register("churn", pipe, input_example=X.head(3), metrics={"auc": 0.9})
    v2 = ws.models.register("churn", ThresholdModel(0.5), description="rule", tags={"kind": "rule"})
    assert (v1.version, v2.version) == (1, 2)
    assert ws.models.get("churn").id == v2.id  # latest
    assert ws.models.get("churn@1").id == v1.id
    assert ws.models.get(f"churn@{v1.digest[:13]}").id == v1.id
    assert ws.models.get(v1.id).ref == "churn@1"
    assert v1.lineage_node == Node("model_version", v1.id, "churn@1")
    assert v1.metrics == {"auc": 0.9} and v2.tags == {"kind": "rule"}
    m = ws.models.get_model("churn")
    assert m.latest_version == 2 and m.lineage_node.kind == "model"
    assert [v.version for v in ws.models.versions("churn")] == [1, 2]
    assert [x.name for x in ws.models.list_models()] == ["churn"]
    with pytest.raises(NotFound, match=r"model 'churn' has no version 7; versions: 1, 2"):
        ws.models.get("churn@7")
    with pytest.raises(NotFound, match=r"no model 'nope'.*known: churn"):
        ws.models.get("nope@1")
    with pytest.raises(NotFound, match="has no alias 'champion'"):
        ws.models.get("churn@champion")
    with pytest.raises(InvalidReference):
        ws.models.get("churn@")


def test_registering_same_name_concurrently_numbers_uniquely(sqlite_ws: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        versions = list(
            pool.map(lambda i: sqlite_ws.models.register("t", ThresholdModel(i)).version, range(8))
        )
    assert sorted(versions) == list(range(1, 9))


def test_signature_enforced_at_predict(sqlite_ws: Any, trained: Any) -> None:
    df, pipe = trained
    X = df.drop(columns="churned")
    sqlite_ws.models.register("churn", pipe, input_example=X.head(3))
    p = sqlite_ws.models.load("churn")
    with pytest.raises(InvalidInput, match=r"missing column 'calls'") as e:
        p.predict(X.drop(columns="calls"))
    assert e.value.details == {"field": "calls", "problem": "missing"}
    bad = X.head(2).assign(tenure=["long", "short"])
    with pytest.raises(InvalidInput, match=r"column 'tenure' .* has dtype .*expects float"):
        p.predict(bad)
    with pytest.raises(InvalidInput, match=r"has shape \(2, 2\); the signature expects 3 columns"):
        p.predict(np.zeros((2, 2)))
    # extra columns are ignored, ints are accepted for float columns
    ok = X.head(2).assign(extra=1, tenure=[3, 4])
    assert p.predict(ok).shape == (2,)


def test_tensor_signature_shape_and_dtype(sqlite_ws: Any) -> None:
    from sklearn.linear_model import LinearRegression

    X = np.random.default_rng(0).normal(size=(30, 4))
    model = LinearRegression().fit(X, X.sum(axis=1))
    sqlite_ws.models.register("lin", model, signature=Signature.tensor("float64", [-1, 4]))
    p = sqlite_ws.models.load("lin")
    assert p.predict(X[0]).shape == (1,)  # a single example without the batch axis
    with pytest.raises(InvalidInput, match=r"shape \(30, 3\); the signature expects \(-1, 4\)"):
        p.predict(X[:, :3])
    with pytest.raises(InvalidInput, match=r"dtype <U1; the signature expects float64"):
        p.predict(np.array([["a", "b", "c", "d"]]))


def test_bad_registration_input(sqlite_ws: Any) -> None:
    with pytest.raises(InvalidInput, match="invalid model name"):
        sqlite_ws.models.register("bad name", ThresholdModel(1))
    with pytest.raises(InvalidInput, match="metric 'auc' must be a number"):
        sqlite_ws.models.register("m", ThresholdModel(1), metrics={"auc": "high"})
    with pytest.raises(InvalidInput, match="nothing to register"):
        sqlite_ws.models.register("m")
    with pytest.raises(InvalidInput, match="invalid model signature"):
        sqlite_ws.models.register("m", ThresholdModel(1), signature={"inputs": [{"x": 1}]})
    with pytest.raises(InvalidInput, match="cannot use a int as training dataset"):
        sqlite_ws.models.register("m", ThresholdModel(1), datasets=[3])
    assert sqlite_ws.models.names() == []


def test_aliases_and_history(ws: Any) -> None:
    for t in (0.1, 0.2, 0.3):
        ws.models.register("m", ThresholdModel(t))
    ws.models.set_alias("m", "champion", version=1, reason="first")
    ws.models.set_alias("m", "champion", version=3, reason="better")
    ws.models.set_alias("m", "challenger", version="2")
    assert ws.models.get("m@champion").version == 3
    assert ws.models.aliases("m") == {"champion": 3, "challenger": 2}
    assert ws.models.get("m@3").aliases == ("champion",)
    hist = ws.models.alias_history("m", "champion")
    assert [(h.seq, h.from_version, h.to_version, h.reason) for h in hist] == [
        (1, None, 1, "first"),
        (2, 1, 3, "better"),
    ]
    moved = ws.models.delete_alias("m", "challenger", reason="done")
    assert (moved.from_version, moved.to_version) == (2, None)
    with pytest.raises(
        NotFound,
        match=r"cannot point alias 'champion' at m@9: no such version; versions of 'm': 1, 2, 3",
    ):
        ws.models.set_alias("m", "champion", version=9)
    with pytest.raises(InvalidInput, match="invalid alias '9lives'"):
        ws.models.set_alias("m", "9lives", version=1)
    with pytest.raises(NotFound, match="no model 'x'"):
        ws.models.set_alias("x", "champion", version=1)
    assert ws.models.get("m@champion").version == 3  # failed moves changed nothing


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_alias_moves_from_4_processes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import shipyard as sy

    db = request.getfixturevalue("pg_url") if backend == "postgres" else None
    home = str(tmp_path / "ws")
    ws = sy.Workspace(home, db=db) if db else sy.Workspace(home)
    for t in (0.1, 0.2, 0.3):
        ws.models.register("m", ThresholdModel(t))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=move_aliases, args=(home, db, w, 10)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    hist = ws.models.alias_history("m", "champion")
    assert [h.seq for h in hist] == list(range(1, 41))  # every move kept, none lost
    for prev, cur in itertools.pairwise(hist):
        assert cur.from_version == prev.to_version  # an unbroken chain
    assert ws.models.get("m@champion").version == hist[-1].to_version
    assert sorted(h.reason for h in hist) == sorted(
        f"w{w}-{i}" for w in range(4) for i in range(10)
    )
    ws.close()


def test_archive_and_delete_are_refused_while_in_use(ws: Any) -> None:
    v1 = ws.models.register("m", ThresholdModel(0.1))
    v2 = ws.models.register("m", ThresholdModel(0.2))
    ws.models.set_alias("m", "champion", version=1)
    with pytest.raises(
        Conflict, match=r"cannot delete m@1: alias champion points at it; move them first"
    ):
        ws.models.delete("m@1")
    with pytest.raises(Conflict, match="cannot archive m@1"):
        ws.models.archive("m@1")
    ws.lineage.record(v2.lineage_node, Node("deployment", "D1", "prod"), "deployed_as")
    with pytest.raises(Conflict, match="deployment prod serves it"):
        ws.models.delete("m@2")
    ws.lineage.remove(Node("deployment", "D1", "prod"))
    archived = ws.models.archive("m@2")
    assert archived.status == "archived"
    assert ws.models.get("m").version == 1  # latest skips archived versions
    with pytest.raises(Conflict, match="the version is archived"):
        ws.models.set_alias("m", "challenger", version=2)
    ws.models.delete("m@2")
    with pytest.raises(NotFound):
        ws.models.get("m@2")
    assert ws.models.get(v1.id).version == 1
    with pytest.raises(NotFound):
        ws.lineage.node(f"model_version:{v2.id}")


def test_lineage_run_datasets_parent_and_git(ws: Any, trained: Any) -> None:
    df, pipe = trained
    base = ws.models.register("base", ThresholdModel(0.5))
    with ws.start_run("churn", name="fit") as run:
        pass
    v = ws.models.register("churn", pipe, run=run.id, datasets=[df], parent="base@1")
    up = ws.lineage.upstream(v.lineage_node)
    rels = {(e.src.split(":")[0], e.relation) for e in up.edges}
    assert ("run", "produced") in rels and ("model_version", "fine_tuned_from") in rels
    assert f"run:{run.id}" in up.nodes
    assert v.run_id == run.id and v.parent_id == base.id
    down = ws.lineage.downstream(v.lineage_node, depth=1)
    assert f"model:{v.model_id}" in down.nodes
    assert v.git_commit is None or len(v.git_commit) == 40
    td = ws.models.training_data(v)
    assert td[0].rows == len(df) and td[0].stats["plan"]["unique"] == 2
    assert len(ws.models.training_row_hashes(td[0])) == len(df)
    # lineage strings resolve model references
    assert ws.lineage.node("model:churn@1") == v.lineage_node


def test_register_inside_a_pipeline_step_links_the_step(sqlite_ws: Any) -> None:
    from shipyard.store import producing

    step = Node("step_run", "S1", "train")
    with producing(step):
        v = sqlite_ws.models.register("m", ThresholdModel(0.5))
    assert v.producer == "step_run:S1"
    up = sqlite_ws.lineage.upstream(v.lineage_node, depth=1)
    assert "step_run:S1" in up.nodes


def test_model_card_markdown_and_html(sqlite_ws: Any, trained: Any) -> None:
    df, pipe = trained
    X = df.drop(columns="churned")
    sqlite_ws.models.register(
        "churn",
        pipe,
        datasets=[df],
        input_example=X.head(2),
        description="Flags customers <likely> to churn.",
    )
    md = sqlite_ws.models.card("churn@1")
    assert md.startswith("# Model card: churn@1")
    assert "Flags customers <likely> to churn." in md
    assert "| tenure |" in md and "600 rows." in md
    page = sqlite_ws.models.card("churn@1", format="html")
    assert "<h1>Model card: churn@1</h1>" in page and "&lt;likely&gt;" in page
    with pytest.raises(InvalidInput, match="card format"):
        sqlite_ws.models.card("churn@1", format="pdf")


def test_model_file_registration(sqlite_ws: Any, tmp_path: Path, trained: Any) -> None:
    import joblib

    df, pipe = trained
    path = tmp_path / "model.joblib"
    joblib.dump(pipe, path)
    v = sqlite_ws.models.register("fromfile", str(path))
    assert v.flavor == "sklearn"
    X = df.drop(columns="churned")
    np.testing.assert_array_equal(sqlite_ws.models.load(v).predict(X), pipe.predict(X))
    with pytest.raises(InvalidInput, match="no such model file"):
        sqlite_ws.models.register("fromfile", str(tmp_path / "missing.pkl"))


def test_register_from_a_run_artifact(sqlite_ws: Any, tmp_path: Path, trained: Any) -> None:
    import joblib

    df, pipe = trained
    path = tmp_path / "model.joblib"
    joblib.dump(pipe, path)
    with sqlite_ws.start_run("churn", name="fit") as run:
        run.log_artifact(path, name="model/model.joblib")
    v = sqlite_ws.models.register("churn", run=run.id, artifact="model")
    assert v.flavor == "sklearn" and v.run_id == run.id
    X = df.drop(columns="churned")
    np.testing.assert_array_equal(sqlite_ws.models.load(v).predict(X), pipe.predict(X))
    assert f"run:{run.id}" in sqlite_ws.lineage.upstream(v.lineage_node, depth=1).nodes
    with pytest.raises(InvalidInput, match="nothing to register"):
        sqlite_ws.models.register("churn", run=run.id)


def test_training_on_a_dataset_version(sqlite_ws: Any, trained: Any) -> None:
    df, pipe = trained
    dv = sqlite_ws.datasets.commit("churn-train", df)
    v = sqlite_ws.models.register("churn", pipe, datasets=["churn-train@1"])
    td = sqlite_ws.models.training_data(v)[0]
    assert td.dataset_version_id == dv.id and td.rows == len(df)
    up = sqlite_ws.lineage.upstream(v.lineage_node, depth=1)
    assert dv.lineage_node.key in up.nodes
    assert ("trained_on") in {e.relation for e in up.edges}
    assert f"dataset version {dv.id}" in sqlite_ws.models.card(v)
