"""Content-addressed blob store over fsspec.

Contract
--------
* ``put_*`` returns the digest ``sha256:<hex>`` of the bytes. Writing the same bytes
  twice is a no-op (idempotent); a blob is never rewritten.
* Writes are atomic: readers see either no blob or the whole blob. Locally the bytes go
  to a temp file in the store, are fsync'ed and renamed into place; on object stores a
  blob is uploaded in one put (multipart uploads become visible only when complete).
* Memory is constant for any size: streams are hashed while they are copied.
* ``open``/``get_bytes`` with ``verify=True`` re-hash what was read and raise
  :class:`~shipyard.core.BlobCorrupted` on mismatch.
* Every method is thread-safe; ``put_many``/``get_many`` use a thread pool.
* Errors from the backend become :class:`~shipyard.core.StorageError` (or NotFound for a
  missing blob); users never see fsspec or botocore exceptions.

Layout: ``<root>/sha256/<2 hex>/<62 hex>``; temp files under ``<root>/tmp/``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..core import BlobCorrupted, ConfigurationError, MissingExtra, NotFound, StorageError
from ..core._hashing import CHUNK, format_digest, split_digest

_TMP_GRACE_S = 24 * 3600
_PART = 8 * 1024 * 1024  # multipart size on object stores: bounds upload memory


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int
    modified: float | None = None


class _VerifyingReader(io.RawIOBase):
    """Wraps a binary file; hashes as it is read; raises at EOF on mismatch."""

    def __init__(self, raw: BinaryIO, digest: str, url: str) -> None:
        self._raw = raw
        self._expected = digest
        self._url = url
        self._h = hashlib.sha256()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        if n:
            self._h.update(data)
        elif not self._done:
            self._done = True
            actual = format_digest(self._h.hexdigest())
            if actual != self._expected:
                raise BlobCorrupted(
                    f"blob {self._expected} at {self._url} is corrupted: its bytes hash to "
                    f"{actual}; restore it from a backup or re-create the object that "
                    "wrote it",
                    details={"digest": self._expected, "actual": actual},
                )
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class BlobStore:
    """Bytes by digest, on a local folder (default) or any fsspec filesystem (S3…)."""

    def __init__(
        self,
        url: str,
        *,
        storage_options: dict[str, Any] | None = None,
        max_workers: int = 8,
    ) -> None:
        self.url = url
        options = dict(storage_options or {})
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
        except ImportError as exc:
            name = getattr(exc, "name", None) or "s3fs"
            raise MissingExtra(f"the blob store {url!r}", "s3", name) from None
        except ValueError as exc:
            raise ConfigurationError(
                f"invalid blob store URL {url!r}: {exc}; expected a folder path or an "
                "fsspec URL such as 's3://bucket/prefix'",
                details={"blob_url": url},
            ) from None
        self.root = root.rstrip("/")
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self.max_workers = max_workers
        if self.is_local:
            try:
                os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
                os.makedirs(os.path.join(self.root, "sha256"), exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the blob store at {self.root}: {exc.strerror or exc}; "
                    "choose a writable folder (SHIPYARD_HOME, SHIPYARD_BLOB_URL or "
                    "Workspace(blobs=...))",
                    details={"blob_url": url},
                ) from None

    # ------------------------------------------------------------------ paths
    def path(self, digest: str) -> str:
        """The backend path of a blob (a local path when the store is local)."""
        try:
            hexpart = split_digest(digest)
        except ValueError:
            raise NotFound(
                f"{digest!r} is not a blob digest; digests look like 'sha256:<64 hex>'",
                details={"digest": digest},
            ) from None
        return f"{self.root}/sha256/{hexpart[:2]}/{hexpart[2:]}"

    def local_path(self, digest: str) -> Path | None:
        """A local filesystem path for the blob, or None on remote stores."""
        return Path(self.path(digest)) if self.is_local else None

    def _tmp_path(self) -> str:
        return os.path.join(self.root, "tmp", f"{os.getpid()}-{os.urandom(8).hex()}")

    # ------------------------------------------------------------------ writes
    def put_bytes(self, data: bytes) -> str:
        return self.put_stream(io.BytesIO(data))

    def put_stream(self, stream: IO[bytes]) -> str:
        """Store everything read from *stream*; constant memory."""
        if self.is_local:
            tmp = self._tmp_path()
            h = hashlib.sha256()
            try:
                with open(tmp, "wb") as out:
                    while block := stream.read(CHUNK):
                        h.update(block)
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
                return self._commit_local(tmp, format_digest(h.hexdigest()))
            except BaseException:
                _unlink(tmp)
                raise
        # Remote: spool to a local temp file while hashing, then one upload to the
        # final key. The digest must be known before the key exists.
        with tempfile.NamedTemporaryFile(prefix="shipyard-blob-") as spool:
            h = hashlib.sha256()
            while block := stream.read(CHUNK):
                h.update(block)
                spool.write(block)
            spool.flush()
            digest = format_digest(h.hexdigest())
            self._upload(spool.name, digest)
            return digest

    def put_file(self, path: str | os.PathLike[str], digest: str | None = None) -> str:
        """Store a local file. Pass *digest* if already known to skip hashing."""
        path = os.fspath(path)
        if self.is_local:
            if digest is not None and self.exists(digest):
                return digest
            tmp = self._tmp_path()
            try:
                h = hashlib.sha256()
                with open(path, "rb") as src, open(tmp, "wb") as out:
                    while block := src.read(CHUNK):
                        h.update(block)
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
                actual = format_digest(h.hexdigest())
                if digest is not None and actual != digest:
                    raise StorageError(
                        f"file {path} changed while it was stored (expected {digest}, "
                        f"read {actual}); retry once it is no longer being written",
                        details={"path": path},
                    )
                return self._commit_local(tmp, actual)
            except BaseException:
                _unlink(tmp)
                raise
        if digest is None:
            from ..core import hash_file

            digest, _ = hash_file(path)
        self._upload(path, digest)
        return digest

    def _commit_local(self, tmp: str, digest: str) -> str:
        final = self.path(digest)
        if os.path.exists(final):
            _unlink(tmp)
            return digest
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return digest

    def _upload(self, local: str, digest: str) -> None:
        final = self.path(digest)
        try:
            if self.fs.exists(final):
                return
            if os.path.getsize(local) > _PART:
                self.fs.put_file(local, final, chunksize=_PART, max_concurrency=2)
            else:
                self.fs.put_file(local, final)
        except (OSError, ValueError) as exc:
            raise StorageError(
                f"cannot write blob {digest} to {self.url}: {exc}; check the bucket, "
                "the endpoint and the credentials",
                details={"blob_url": self.url},
            ) from None
        except Exception as exc:  # botocore and friends
            raise StorageError(
                f"cannot write blob {digest} to {self.url}: {type(exc).__name__}: {exc}",
                details={"blob_url": self.url},
            ) from None

    def put_many(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Store many local files in parallel; digests in input order."""
        items = list(paths)
        if len(items) <= 1:
            return [self.put_file(p) for p in items]
        with ThreadPoolExecutor(self.max_workers) as pool:
            return list(pool.map(self.put_file, items))

    # ------------------------------------------------------------------ reads
    def exists(self, digest: str) -> bool:
        p = self.path(digest)
        if self.is_local:
            return os.path.exists(p)
        try:
            return bool(self.fs.exists(p))
        except Exception as exc:
            raise StorageError(f"cannot reach blob store {self.url}: {exc}") from None

    def size(self, digest: str) -> int:
        p = self.path(digest)
        try:
            if self.is_local:
                return os.stat(p).st_size
            return int(self.fs.size(p))
        except FileNotFoundError:
            raise self._missing(digest) from None

    def open(self, digest: str, *, verify: bool = False) -> BinaryIO:
        """Open a blob for reading (binary). With *verify*, EOF checks the digest."""
        p = self.path(digest)
        try:
            f = open(p, "rb") if self.is_local else self.fs.open(p, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise self._missing(digest) from None
        if verify:
            return io.BufferedReader(_VerifyingReader(f, digest, self.url), CHUNK)
        return f

    def get_bytes(self, digest: str, *, verify: bool = False) -> bytes:
        with self.open(digest, verify=verify) as f:
            return f.read()

    def get_file(
        self, digest: str, dest: str | os.PathLike[str], *, verify: bool = False, link: bool = False
    ) -> None:
        """Write a blob to a local file (atomically). *link* hard-links when possible."""
        dest = os.fspath(dest)
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        if link and self.is_local and not verify:
            try:
                if os.path.lexists(dest):
                    os.unlink(dest)
                os.link(self.path(digest), dest)
                return
            except FileNotFoundError:
                raise self._missing(digest) from None
            except OSError:
                pass  # another filesystem: fall back to a copy
        tmp = f"{dest}.tmp-{os.urandom(4).hex()}"
        try:
            with self.open(digest, verify=verify) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            os.replace(tmp, dest)
        except BaseException:
            _unlink(tmp)
            raise

    def get_many(
        self,
        items: Iterable[tuple[str, str | os.PathLike[str]]],
        *,
        verify: bool = False,
        link: bool = False,
    ) -> None:
        """Write many blobs to local files in parallel: ``[(digest, dest), …]``."""
        jobs = list(items)
        with ThreadPoolExecutor(self.max_workers) as pool:
            for f in [pool.submit(self.get_file, d, p, verify=verify, link=link) for d, p in jobs]:
                f.result()

    def verify(self, digest: str) -> None:
        """Raise BlobCorrupted if the stored bytes do not match *digest*."""
        with self.open(digest, verify=True) as f:
            while f.read(CHUNK):
                pass

    def list(self) -> Iterator[BlobInfo]:
        """Every stored blob (order unspecified)."""
        base = f"{self.root}/sha256"
        if self.is_local:
            if not os.path.isdir(base):
                return
            for prefix in sorted(os.listdir(base)):
                d = os.path.join(base, prefix)
                with os.scandir(d) as it:
                    for e in it:
                        st = e.stat()
                        yield BlobInfo(f"sha256:{prefix}{e.name}", st.st_size, st.st_mtime)
            return
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return
        for path, info in found.items():
            parts = path.rstrip("/").split("/")
            hexpart = parts[-2] + parts[-1]
            if len(hexpart) != 64:
                continue
            mtime = info.get("LastModified") or info.get("mtime")
            ts = mtime.timestamp() if hasattr(mtime, "timestamp") else mtime
            yield BlobInfo(f"sha256:{hexpart}", int(info.get("size", 0)), ts)

    def delete(self, digest: str) -> bool:
        """Remove a blob (for garbage collection). Returns False if it was absent."""
        p = self.path(digest)
        try:
            if self.is_local:
                os.unlink(p)
            else:
                if not self.fs.exists(p):
                    return False
                self.fs.rm_file(p)
            return True
        except FileNotFoundError:
            return False

    def clean_tmp(self, older_than_s: float = _TMP_GRACE_S) -> int:
        """Remove temp files left by killed writers. Returns how many."""
        if not self.is_local:
            return 0
        cutoff = time.time() - older_than_s
        n = 0
        tmpdir = os.path.join(self.root, "tmp")
        for e in os.scandir(tmpdir):
            try:
                if e.stat().st_mtime < cutoff:
                    os.unlink(e.path)
                    n += 1
            except FileNotFoundError:
                pass
        return n

    def _missing(self, digest: str) -> NotFound:
        return NotFound(
            f"no blob {digest} in the blob store {self.url}; the object that references "
            "it may have been garbage-collected or written to another store",
            details={"digest": digest},
        )

    def __repr__(self) -> str:
        return f"BlobStore({self.url!r})"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
