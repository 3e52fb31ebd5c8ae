"""Concurrent commits, a commit killed midway, garbage collection, the hash cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from shipyard.data import _ingest
from shipyard.data.tables import dataset_versions
from shipyard.store._gc import collect_garbage, referenced_digests, register_reference_provider

ROOT = Path(__file__).resolve().parents[2]


def _settings(ws: Any) -> dict[str, Any]:
    s = ws.settings
    return {
        "home": str(s.home),
        "db": s.db_url,
        "blobs": s.blob_url,
        "endpoint": s.s3_endpoint_url,
    }


CHILD_PRELUDE = textwrap.dedent(
    """
    import json, os, sys
    import shipyard as sy
    cfg = json.loads(sys.argv[1])
    opts = {"s3_endpoint_url": cfg["endpoint"]} if cfg["endpoint"] else {}
    ws = sy.Workspace(cfg["home"], db=cfg["db"], blobs=cfg["blobs"], **opts)
    """
)


def _child(code: str, cfg: dict[str, Any], **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code), json.dumps(cfg)],
        env=env,
        text=True,
        **kw,
    )


@pytest.mark.slow
def test_concurrent_commits_get_distinct_gap_free_numbers(db_url: str, tmp_path: Path) -> None:
    import shipyard as sy

    code = """
    import pandas as pd
    who = int(sys.argv[2])
    for i in range(2):
        ws.datasets.commit("shared", pd.DataFrame({"who": [who], "i": [i]}))
    """
    with sy.Workspace(tmp_path / "ws", db=db_url) as ws:
        cfg = _settings(ws)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CHILD_PRELUDE + textwrap.dedent(code),
                    json.dumps(cfg),
                    str(who),
                ],
                env=env,
            )
            for who in range(3)
        ]
        assert [p.wait(120) for p in procs] == [0, 0, 0]
        versions = ws.datasets.log("shared")
        assert sorted(v.version for v in versions) == list(range(1, 7))
        rows = {tuple(v.to_pandas().iloc[0]) for v in versions}
        assert len(rows) == 6  # every commit landed exactly once


@pytest.mark.slow
def test_killed_commit_leaves_no_half_version_and_gc_reclaims(ws: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(120):
        (src / f"f{i:03d}.bin").write_bytes(os.urandom(512) + bytes([i % 256]))
    code = f"""
    import time
    def progress(done, total, b, bt):
        if done >= 30:
            print("midway", flush=True)
            time.sleep(60)
    ws.datasets.commit("big", {str(src)!r}, progress=progress)
    """
    proc = _child(code, _settings(ws), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "midway"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    with ws.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dataset_versions)).scalar() == 0
    orphans = {b.digest for b in ws.blobs.list()}
    assert orphans, "the killed commit had written some blobs"
    # a dry run reports, deletes nothing; the grace period protects recent blobs
    recent = collect_garbage(ws.db, ws.blobs, dry_run=False)
    assert recent.deleted == 0 and recent.recent == len(orphans)
    dry = collect_garbage(ws.db, ws.blobs, dry_run=True, grace_seconds=0)
    assert len(dry.unreferenced) == len(orphans) and dry.deleted == 0
    assert {b.digest for b in ws.blobs.list()} == orphans
    report = collect_garbage(ws.db, ws.blobs, dry_run=False, grace_seconds=0)
    assert report.deleted == len(orphans)
    assert list(ws.blobs.list()) == []
    # the next commit works and stores everything again
    v = ws.datasets.commit("big", src)
    assert v.version == 1 and v.file_count == 120
    assert v.read_bytes("f007.bin") == (src / "f007.bin").read_bytes()


def test_gc_keeps_referenced_blobs_and_removes_unreferenced(ws: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    (src / "b.txt").write_text("b")
    v1 = ws.datasets.commit("d", src)
    stray = ws.blobs.put_bytes(b"nobody references me")
    refs = referenced_digests(ws.db, ws.blobs)
    assert v1.manifest_digest in refs  # a blob_ref column
    assert {f.digest for f in v1.files()} <= refs  # listed inside the manifest
    assert stray not in refs
    report = collect_garbage(ws.db, ws.blobs, dry_run=False, grace_seconds=0)
    assert report.deleted == 1 and not ws.blobs.exists(stray)
    assert v1.read_bytes("a.txt") == b"a"
    # runtime providers add references
    kept = ws.blobs.put_bytes(b"kept by a provider")
    register_reference_provider("test-extra", lambda db, blobs: [kept])
    try:
        assert collect_garbage(ws.db, ws.blobs, dry_run=False, grace_seconds=0).deleted == 0
        assert ws.blobs.exists(kept)
    finally:
        from shipyard.store import _gc

        _gc._runtime_providers.pop("test-extra")
    with pytest.raises(Exception, match="grace period must be >= 0"):
        collect_garbage(ws.db, ws.blobs, grace_seconds=-1)


def test_gc_spares_recently_touched_existing_blobs(sqlite_ws: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("old orphan content")
    digest = sqlite_ws.blobs.put_file(src / "a.txt")
    old = time.time() - 7200
    os.utime(sqlite_ws.blobs.path(digest), (old, old))
    # a commit that finds the blob already stored refreshes it, so a concurrent gc
    # (grace 1 h) cannot delete it before the version references it
    from shipyard.data._hashcache import HashCache

    files, _ = _ingest.scan_local(str(src))
    _ingest.store_local_files(sqlite_ws.blobs, files, HashCache(None))
    assert os.stat(sqlite_ws.blobs.path(digest)).st_mtime > time.time() - 60


def test_hash_cache_rehashes_only_changed_files(
    sqlite_ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        (src / f"f{i}.txt").write_text(f"content {i}")
    sqlite_ws.datasets.commit("d", src)
    calls: list[str] = []
    original = _ingest._LocalWriter._store_small

    def counting(self: Any, path: str, *args: Any) -> Any:
        calls.append(path)
        return original(self, path, *args)

    monkeypatch.setattr(_ingest._LocalWriter, "_store_small", counting)
    time.sleep(0.01)
    (src / "f7.txt").write_text("changed!")
    v2 = sqlite_ws.datasets.commit("d", src)
    assert v2.version == 2
    assert calls == [str(src / "f7.txt")]
    assert v2.read_bytes("f7.txt") == b"changed!"
    calls.clear()
    assert sqlite_ws.datasets.commit("d", src).version == 2  # nothing changed
    assert calls == []


def test_dataframe_with_index_and_duplicates(sqlite_ws: Any) -> None:
    df = pd.DataFrame({"a": [1, 1, 2]}, index=[10, 11, 12])
    v = sqlite_ws.datasets.commit("d", df)
    assert v.to_pandas()["a"].tolist() == [1, 1, 2]
