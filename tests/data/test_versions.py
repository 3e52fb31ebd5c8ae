"""Committing and reading dataset versions, on SQLite + local and PostgreSQL + S3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.core import InvalidInput, InvalidReference, NotFound
from shipyard.data import DatasetVersion
from shipyard.data.synthetic import make_churn


def _tree(root: Path, n: int = 5) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sub = root / f"part{i % 2}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i}.txt").write_text(f"file {i}\n" * (i + 1))
    return root


def test_commit_folder_then_read_back(ws: Any, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    v = ws.datasets.commit("docs", src, message="first", tags={"team": "ml"})
    assert isinstance(v, DatasetVersion)
    assert (v.name, v.version, v.kind, v.file_count) == ("docs", 1, "files", 5)
    assert v.size == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    assert v.tags == {"team": "ml"} and v.message == "first" and v.parent_id is None
    assert [f.path for f in v.files()] == sorted(
        p.relative_to(src).as_posix() for p in src.rglob("*.txt")
    )
    assert v.read_bytes("part1/f3.txt") == (src / "part1/f3.txt").read_bytes()
    with v.open("part0/f0.txt") as f:
        assert f.read() == b"file 0\n"
    out = v.checkout(tmp_path / "out")
    for p in src.rglob("*.txt"):
        assert (out / p.relative_to(src)).read_bytes() == p.read_bytes()
    if ws.blobs.is_local:  # hard links to the stored blobs
        assert (out / "part0/f0.txt").stat().st_nlink >= 2
    assert v.lineage_node.kind == "dataset_version" and v.lineage_node.label == "docs@1"
    assert ws.lineage.graph(v).nodes  # registered in the lineage graph


def test_versions_numbers_parents_identity(ws: Any, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    v1 = ws.datasets.commit("docs", src)
    same = ws.datasets.commit("docs", src)
    assert same.id == v1.id and same.version == 1  # identical content: no new version
    forced = ws.datasets.commit("docs", src, allow_empty=True)
    assert forced.version == 2 and forced.digest == v1.digest
    (src / "part0/f0.txt").write_text("changed\n")
    (src / "new.txt").write_text("new\n")
    v3 = ws.datasets.commit("docs", src, message="third")
    assert v3.version == 3 and v3.parent_id == forced.id and v3.digest != v1.digest
    assert [v.version for v in ws.datasets.log("docs")] == [3, 2, 1]
    assert [v.version for v in ws.datasets.log("docs", limit=1)] == [3]
    assert [v.version for v in ws.datasets.log("docs", limit=2, offset=1)] == [2, 1]
    assert ws.datasets.log("docs", limit=5, offset=3) == []
    for bad in ({"limit": 0}, {"offset": -1}):
        with pytest.raises(InvalidInput):
            ws.datasets.log("docs", **bad)
    assert ws.datasets.get("docs").id == v3.id
    assert ws.datasets.get("docs@latest").id == v3.id
    assert ws.datasets.get("docs@1").id == v1.id
    assert ws.datasets.get(v3.id).id == v3.id
    assert ws.datasets.get(f"docs@{v3.digest[:14]}").id == v3.id
    # several versions with the same content: the digest names the newest
    assert ws.datasets.get(f"docs@{v1.digest}").version == 2
    names = [d.name for d in ws.datasets.list()]
    assert names == ["docs"] and ws.datasets.count() == 1
    assert ws.datasets.list(limit=1, offset=1) == []
    d = ws.datasets.diff("docs@1", "docs@3")
    assert [f.path for f in d.added] == ["new.txt"]
    assert [b.path for _, b in d.modified] == ["part0/f0.txt"]
    assert d.removed == [] and d.unchanged == 4


def test_tables_dataframe_arrow_numpy(ws: Any) -> None:
    df = make_churn(300, period=1, seed=1)
    v = ws.datasets.commit("churn", df)
    assert v.kind == "table" and v.row_count == 300
    assert [c["name"] for c in v.table_schema] == list(df.columns)
    back = v.to_pandas()
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert v.to_arrow(columns=["churned"]).num_rows == 300
    rel = v.to_duckdb()
    assert rel.aggregate("sum(churned)").fetchall()[0][0] == int(df["churned"].sum())
    stats = v.stats()
    assert stats.row_count == 300 and stats["churned"].top is not None
    # pyarrow table
    t = pa.table({"a": [1, 2, 3], "b": ["x", "y", None]})
    tv = ws.datasets.commit("small", t)
    assert tv.to_arrow().equals(t) and tv.stats()["b"].null_count == 1
    # numpy arrays keep their shapes
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2, 3)), rng.integers(0, 2, 20)
    nv = ws.datasets.commit("arrays", {"X": X, "y": y})
    arrays = nv.to_numpy()
    np.testing.assert_array_equal(arrays["X"], X)
    np.testing.assert_array_equal(arrays["y"], y)
    # the same frame again is the same version
    assert ws.datasets.commit("churn", df).version == 1


def test_table_diff_reports_schema_rows_and_shifts(ws: Any) -> None:
    a = make_churn(400, period=1)
    b = make_churn(500, period=2).drop(columns=["region"])
    b["score"] = 1.0
    ws.datasets.commit("churn", a)
    ws.datasets.commit("churn", b)
    d = ws.datasets.diff("churn@1", "churn@2")
    assert d.rows == (400, 500)
    assert d.columns_added == ["score"] and d.columns_removed == ["region"]
    shifted = {s.column: s for s in d.shifts}
    assert shifted["monthly_charges"].psi > 0.2  # the drifted column moved a lot
    assert shifted["monthly_charges"].stats["mean"][1] > shifted["monthly_charges"].stats["mean"][0]
    assert d.to_dict()["rows"] == {"a": 400, "b": 500}


def test_parquet_and_glob_sources(ws: Any, tmp_path: Path) -> None:
    df = pd.DataFrame({"x": range(10), "y": [f"v{i}" for i in range(10)]})
    df.to_parquet(tmp_path / "part-0.parquet")
    df.to_parquet(tmp_path / "part-1.parquet")
    (tmp_path / "notes.md").write_text("# notes")
    v = ws.datasets.commit("parts", str(tmp_path / "*.parquet"))
    assert v.kind == "table" and v.row_count == 20 and v.file_count == 2
    assert v.to_pandas()["x"].sum() == 90
    one = ws.datasets.commit("one", tmp_path / "notes.md")
    assert [f.path for f in one.files()] == ["notes.md"] and one.kind == "files"
    assert one.files()[0].media_type == "text/markdown"


def test_fsspec_url_source(ws: Any) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe({"/src/a.txt": b"aaa", "/src/sub/b.txt": b"bb"})
    v = ws.datasets.commit("remote", "memory://src")
    assert {f.path: f.size for f in v.files()} == {"a.txt": 3, "sub/b.txt": 2}
    assert v.read_bytes("sub/b.txt") == b"bb"


def test_reading_errors(ws: Any) -> None:
    v = ws.datasets.commit("t", pd.DataFrame({"a": [1]}))
    with pytest.raises(NotFound, match=r"no dataset 'nope'.*known: t"):
        ws.datasets.get("nope@1")
    with pytest.raises(NotFound, match=r"dataset 't' has no version 7; its versions are 1\.\.1"):
        ws.datasets.get("t@7")
    with pytest.raises(InvalidReference, match="datasets have no aliases"):
        ws.datasets.get("t@champion")
    with pytest.raises(NotFound, match="no version of dataset 't' has a digest"):
        ws.datasets.get("t@sha256:0000")
    with pytest.raises(NotFound, match=r"no file 'x\.csv' in dataset version t@1"):
        v.open("x.csv")
    with pytest.raises(InvalidInput, match="cannot commit a dict"):
        ws.datasets.commit("f", {"a": [1, 2]})
    with pytest.raises(InvalidInput, match="is not a table"):
        ws.datasets.commit("g", b"x" and __file__).to_pandas()


def test_versions_committed_inside_a_step_are_linked_from_it(sqlite_ws: Any) -> None:
    from shipyard.store import Node, producing

    step = Node("step_run", "S1", "prepare")
    with producing(step):
        v = sqlite_ws.datasets.commit("prepared", pd.DataFrame({"a": [1, 2]}))
    up = sqlite_ws.lineage.upstream(v, depth=1)
    assert (step.key, v.lineage_node.key, "created") in {
        (e.src, e.dst, e.relation) for e in up.edges
    }
    ds = sqlite_ws.datasets.dataset("prepared")
    assert (ds.lineage_node.key, v.lineage_node.key, "version") in {
        (e.src, e.dst, e.relation) for e in up.edges
    }
    # lineage strings like "dataset_version:prepared@1" resolve through the service
    assert sqlite_ws.lineage.node("dataset_version:prepared@1") == v.lineage_node


def test_version_digest_is_the_documented_canonical_hash(sqlite_ws: Any, tmp_path: Path) -> None:
    import hashlib

    src = _tree(tmp_path / "src")
    v = sqlite_ws.datasets.commit("docs", src)
    h = hashlib.sha256()
    for f in sorted(v.files(), key=lambda f: f.path):
        h.update(f"{f.path}\0{f.size}\0{f.digest}\n".encode())
        assert f.digest == "sha256:" + hashlib.sha256((src / f.path).read_bytes()).hexdigest()
    assert v.digest == "sha256:" + h.hexdigest()
