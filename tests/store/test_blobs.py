"""The blob-store behaviour suite, run on a local folder and on S3 (moto server)."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.core import BlobCorrupted, NotFound
from shipyard.store import BlobStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield BlobStore(str(tmp_path / "blobs"))
    else:
        url = request.getfixturevalue("s3_blob_url")
        endpoint = request.getfixturevalue("s3_endpoint")
        yield BlobStore(url, storage_options={"client_kwargs": {"endpoint_url": endpoint}})


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_put_get_roundtrip_and_idempotence(store: BlobStore) -> None:
    d = store.put_bytes(b"hello")
    assert d == _digest(b"hello")
    assert store.exists(d)
    assert store.size(d) == 5
    assert store.get_bytes(d, verify=True) == b"hello"
    assert store.put_bytes(b"hello") == d  # idempotent
    assert [b.digest for b in store.list()] == [d]


def test_put_file_and_stream(store: BlobStore, tmp_path: Path) -> None:
    p = tmp_path / "data.bin"
    data = os.urandom(300_000)
    p.write_bytes(data)
    d1 = store.put_file(p)
    d2 = store.put_stream(io.BytesIO(data))
    assert d1 == d2 == _digest(data)
    out = tmp_path / "out" / "copy.bin"
    store.get_file(d1, out, verify=True)
    assert out.read_bytes() == data


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    missing = _digest(b"never stored")
    assert not store.exists(missing)
    with pytest.raises(NotFound, match="no blob sha256:"):
        store.get_bytes(missing)
    with pytest.raises(NotFound, match="not a blob digest"):
        store.get_bytes("sha256:zz")
    assert store.delete(missing) is False


def test_delete(store: BlobStore) -> None:
    d = store.put_bytes(b"to delete")
    assert store.delete(d) is True
    assert not store.exists(d)
    assert list(store.list()) == []


def test_parallel_put_get_many(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    payloads = [f"file {i}".encode() * (i + 1) for i in range(40)]
    paths = []
    for i, data in enumerate(payloads):
        p = src / f"{i}.txt"
        p.write_bytes(data)
        paths.append(p)
    digests = store.put_many(paths)
    assert digests == [_digest(d) for d in payloads]
    dest = tmp_path / "dest"
    store.get_many([(d, dest / f"{i}.txt") for i, d in enumerate(digests)], verify=True)
    assert [(dest / f"{i}.txt").read_bytes() for i in range(40)] == payloads
    assert {b.digest for b in store.list()} == set(digests)


class _Zeros(io.RawIOBase):
    """A stream of *size* bytes generated on the fly (nothing held in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self.left)
        b[:n] = b"\x01" * n
        self.left -= n
        return n


def test_streaming_put_uses_constant_memory(store: BlobStore) -> None:
    size = 64 * 1024 * 1024
    tracemalloc.start()
    digest = store.put_stream(io.BufferedReader(_Zeros(size), 1 << 20))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert store.size(digest) == size
    bound = (16 if store.is_local else 40) * 1024 * 1024  # S3: one 8 MiB part in flight
    assert peak < bound, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB blob"


def test_corruption_detected_on_verify(store: BlobStore) -> None:
    d = store.put_bytes(b"precious bytes" * 1000)
    path = store.path(d)
    if store.is_local:
        os.chmod(path, 0o644)
        Path(path).write_bytes(b"tampered")
    else:
        store.fs.pipe_file(path, b"tampered")
    assert store.get_bytes(d) == b"tampered"  # without verify, bytes come back as stored
    with pytest.raises(BlobCorrupted, match=f"blob {d} .* is corrupted"):
        store.get_bytes(d, verify=True)
    with pytest.raises(BlobCorrupted):
        store.verify(d)


def test_local_write_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "b"))

    class Boom(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: memoryview) -> int:  # type: ignore[override]
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        store.put_stream(Boom())  # type: ignore[arg-type]
    assert list(store.list()) == []
    assert os.listdir(tmp_path / "b" / "tmp") == []


def test_local_hardlink_checkout(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "b"))
    d = store.put_bytes(b"linked")
    dest = tmp_path / "co" / "f.txt"
    store.get_file(d, dest, link=True)
    assert dest.read_bytes() == b"linked"
    assert os.stat(dest).st_ino == os.stat(store.path(d)).st_ino
