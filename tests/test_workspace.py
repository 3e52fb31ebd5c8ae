from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import shipyard as sy
from shipyard.store import Node


def test_default_workspace_is_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPYARD_HOME")
    monkeypatch.chdir(tmp_path)
    with sy.Workspace() as ws:
        info = ws.info()
    assert info["home"] == str(tmp_path / ".shipyard")
    assert info["db"]["backend"] == "sqlite"
    assert (tmp_path / ".shipyard" / "shipyard.db").exists()
    assert (tmp_path / ".shipyard" / "blobs").is_dir()
    from shipyard.store import head_revision

    assert info["schema_revision"] == head_revision()


def test_environment_configures_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("SHIPYARD_BLOB_URL", str(tmp_path / "elsewhere"))
    with sy.Workspace() as ws:
        assert ws.home == tmp_path / "h"
        d = ws.blobs.put_bytes(b"x")
    assert (tmp_path / "elsewhere" / "sha256" / d[7:9]).is_dir()


def test_workspace_identity_is_stable(ws: Any) -> None:
    first = ws.id
    again = sy.Workspace(
        ws.home, db=ws.settings.db_url, blobs=ws.settings.blob_url, settings=ws.settings
    )
    assert again.id == first
    info = again.info()
    assert info["counts"]["lineage objects"] == 0 and info["counts"]["lineage edges"] == 0
    again.close()


def test_workspace_end_to_end_on_each_backend(ws: Any) -> None:
    d = ws.blobs.put_bytes(b"model bytes")
    ws.lineage.record(Node("blob", d, "model.bin"), Node("run", "R", "train"), "input_to")
    assert ws.blobs.get_bytes(d, verify=True) == b"model bytes"
    counts = ws.info()["counts"]
    assert (counts["lineage objects"], counts["lineage edges"]) == (2, 1)


def _open_and_write(args: tuple[str, int]) -> str:
    home, worker = args
    ws = sy.Workspace(home)
    for i in range(20):
        ws.lineage.record(Node("src", f"{worker}-{i}"), Node("dst", f"{worker}-{i}"), "made")
    ws.close()
    return ws.schema_revision


def test_eight_processes_open_new_workspace_at_once(tmp_path: Path) -> None:
    home = str(tmp_path / "fresh")
    ctx = mp.get_context("spawn")
    with ctx.Pool(8) as pool:
        revisions = pool.map(_open_and_write, [(home, w) for w in range(8)])
    assert len(set(revisions)) == 1
    with sy.Workspace(home) as ws:
        assert ws.lineage.counts() == {"src": 160, "dst": 160}
        with ws.db.read() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
            ids = conn.exec_driver_sql(
                "SELECT count(*) FROM workspace_meta WHERE key='id'"
            ).scalar_one()
    from shipyard.store import head_revisions

    assert sorted(v[0] for v in versions) == sorted(head_revisions()) and ids == 1


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(sy.ConfigurationError) as info:
        sy.Workspace(blocker / "ws")
    msg = str(info.value)
    assert "cannot create the workspace home" in msg and str(blocker / "ws") in msg
    assert "SHIPYARD_HOME" in msg


def test_unwritable_blob_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(sy.ConfigurationError, match="cannot create the blob store"):
        sy.Workspace(tmp_path / "ok", blobs=str(blocker / "blobs"))


def test_invalid_db_url_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(sy.ConfigurationError, match="invalid database URL"):
        sy.Workspace(tmp_path / "w", db="::nonsense::")
    assert not (tmp_path / "w" / "shipyard.db").exists()


def test_unreachable_postgres_is_storage_error(tmp_path: Path) -> None:
    with pytest.raises(sy.StorageError, match="cannot reach the metadata database"):
        sy.Workspace(tmp_path / "w", db="postgresql://127.0.0.1:1/none?connect_timeout=2")


def test_missing_s3_bucket_is_storage_error(tmp_path: Path, s3_endpoint: str) -> None:
    with (
        sy.Workspace(
            tmp_path / "w", blobs="s3://no-such-bucket/x", s3_endpoint_url=s3_endpoint
        ) as ws,
        pytest.raises(sy.StorageError, match="cannot write blob"),
    ):
        ws.blobs.put_bytes(b"x")


def test_threads_share_one_workspace(sqlite_ws: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def job(i: int) -> str:
        return sqlite_ws.blobs.put_bytes(f"blob {i}".encode())

    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(job, range(64)))
    assert len(set(digests)) == 64
    assert os.path.isdir(sqlite_ws.home / "blobs")
    with sqlite_ws.db.read() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
