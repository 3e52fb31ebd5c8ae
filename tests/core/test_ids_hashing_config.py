import hashlib
import io
import time
from pathlib import Path

import pytest

from shipyard.core import (
    Settings,
    hash_bytes,
    hash_file,
    hash_stream,
    id_time_ms,
    is_id,
    new_id,
    split_digest,
    stable_hash,
)


def test_ids_are_unique_sorted_and_carry_time() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 and is_id(i) for i in ids)
    assert before <= id_time_ms(ids[0]) <= id_time_ms(ids[-1]) <= after
    assert not is_id("churn")


def test_hashing_matches_hashlib(tmp_path: Path) -> None:
    data = b"x" * (3 * 1024 * 1024 + 17)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    assert hash_bytes(data) == expected
    assert hash_stream(io.BytesIO(data)) == (expected, len(data))
    p = tmp_path / "f"
    p.write_bytes(data)
    assert hash_file(p) == (expected, len(data))
    assert split_digest(expected) == expected[7:]
    with pytest.raises(ValueError):
        split_digest("md5:abc")
    assert stable_hash("ab", "c") != stable_hash("a", "bc")


def test_settings_precedence(tmp_path: Path) -> None:
    env = {"SHIPYARD_HOME": str(tmp_path / "env-home"), "SHIPYARD_DB_URL": "postgresql://env/db"}
    s = Settings.load(environ=env)
    assert s.home == tmp_path / "env-home"
    assert s.db_url == "postgresql://env/db"
    assert s.blob_url == str(tmp_path / "env-home" / "blobs")
    s2 = Settings.load(home=tmp_path / "arg", db="sqlite:///x.db", environ=env)
    assert s2.home == tmp_path / "arg" and s2.db_url == "sqlite:///x.db"
    s3 = Settings.load(environ={})
    assert s3.home == Path.cwd() / ".shipyard"
    assert s3.db_url == f"sqlite:///{Path.cwd() / '.shipyard' / 'shipyard.db'}"
    assert s3.db_backend == "sqlite" and s3.blob_backend == "file"
    with pytest.raises(TypeError, match="unknown settings: bogus"):
        Settings.load(environ={}, bogus=1)


def test_forked_children_make_distinct_ids() -> None:
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    with ctx.Pool(4) as pool:
        batches = pool.map(_ids_in_child, range(4))
    all_ids = [i for b in batches for i in b] + [new_id() for _ in range(100)]
    assert len(set(all_ids)) == len(all_ids)


def _ids_in_child(_: int) -> list[str]:
    return [new_id() for _ in range(100)]
