"""Getting files into the blob store: scan, hash (with the cache), copy, in parallel.

Local sources are scanned with ``os.scandir`` (one ``stat`` per file), digests come from
the :class:`HashCache` when (size, mtime_ns, inode) still match, and the remaining files
are hashed and copied by a thread pool, streaming, in constant memory. On a local blob
store, blobs are written by this module directly (temp file + rename in the store's
``tmp/`` folder, then one ``syncfs`` for the whole commit instead of one ``fsync`` per
file); on object stores each missing blob is uploaded with ``BlobStore.put_file``.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import glob as globlib
import hashlib
import itertools
import mimetypes
import os
import stat as statlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from ..core import InvalidInput, StorageError
from ..core._hashing import format_digest
from ..store import BlobStore
from ._hashcache import HashCache

ProgressFn = Callable[[int, int, int, int], None]
"""``progress(files_done, files_total, bytes_done, bytes_total)``; called from threads."""

SMALL = 4 * 1024 * 1024  # read whole files up to this size in one call
CHUNK = 1024 * 1024
try:
    CPUS = len(os.sched_getaffinity(0))
except AttributeError:  # pragma: no cover - not Linux
    CPUS = os.cpu_count() or 2
# Big files: hashing releases the GIL for long stretches, so threads scale with cores
# and hide disk latency. Small files: each is a handful of short syscalls, and many
# threads then mostly hand the GIL to each other; use one thread per two cores.
WORKERS = min(16, CPUS * 2)
SMALL_WORKERS = max(1, CPUS // 2)
SMALL_FILE = 256 * 1024
FSYNC_EACH_MAX = 64  # above this many new blobs, one syncfs is cheaper than fsync each


class SourceFile(NamedTuple):
    """One file to store: where it is and what it will be called in the version.

    (Named tuples: a commit makes one per file, and they are cheap to create.)"""

    path: str  # absolute local path, or a path on ``fs``
    rel: str  # path inside the dataset version (POSIX separators)
    size: int
    mtime_ns: int = 0
    inode: int = 0


class StoredFile(NamedTuple):
    path: str
    size: int
    digest: str
    media_type: str


def media_type(path: str) -> str:
    dot = path.rfind(".")
    suffix = path[dot:] if dot > path.rfind("/") + 1 else ""
    return _media_type_of_suffix(suffix)


@functools.lru_cache(maxsize=1024)
def _media_type_of_suffix(suffix: str) -> str:
    suffix = suffix.lower()
    if suffix == ".parquet":
        return "application/vnd.apache.parquet"
    guess, _ = mimetypes.guess_type("x" + suffix) if suffix else (None, None)
    return guess or "application/octet-stream"


# ----------------------------------------------------------------------------- scanning
def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def scan_local(source: str) -> tuple[list[SourceFile], str]:
    """Files of a local file, folder or glob; returns them and a description."""
    if _has_glob(source):
        base = source
        while _has_glob(base):
            base = os.path.dirname(base)
        base = os.path.abspath(base or ".")
        files: list[SourceFile] = []
        for match in sorted(globlib.glob(source, recursive=True)):
            if os.path.isdir(match):
                files.extend(_walk(os.path.abspath(match), base))
            else:
                files.append(_one(os.path.abspath(match), base))
        if not files:
            raise InvalidInput(
                f"the pattern {source!r} matches no files; check the pattern (use '**' "
                "to match sub-folders)",
                details={"source": source},
            )
        return _dedupe(files), os.path.abspath(source)
    path = os.path.abspath(os.path.expanduser(source))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InvalidInput(
                f"{path} is a broken symbolic link; point it at an existing file or folder",
                details={"source": source},
            ) from None
        raise InvalidInput(
            f"no file or folder at {path}; check the path (relative paths are resolved "
            f"from {os.getcwd()})",
            details={"source": source},
        ) from None
    except OSError as exc:
        raise _os_error(exc, path) from None
    if statlib.S_ISDIR(st.st_mode):
        files = _walk(path, path)
        if not files:
            raise InvalidInput(
                f"the folder {path} contains no files; a dataset version needs at least one",
                details={"source": source},
            )
        return files, path
    return [_one(path, os.path.dirname(path))], path


def _os_error(exc: OSError, path: str) -> InvalidInput:
    if exc.errno == errno.ELOOP:
        return InvalidInput(
            f"symbolic link loop at {path}; remove or fix the link",
            details={"path": path},
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InvalidInput(
            f"cannot read {path}: permission denied; fix its permissions or leave it out",
            details={"path": path},
        )
    return InvalidInput(f"cannot read {path}: {exc.strerror or exc}", details={"path": path})


def _one(path: str, base: str) -> SourceFile:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _os_error(exc, path) from None
    if not statlib.S_ISREG(st.st_mode):
        raise InvalidInput(
            f"{path} is not a regular file (a device, socket or pipe); leave it out",
            details={"path": path},
        )
    rel = os.path.relpath(path, base).replace(os.sep, "/")
    return SourceFile(path, rel, st.st_size, st.st_mtime_ns, st.st_ino)


def _walk(root: str, base: str) -> list[SourceFile]:
    """Every regular file under *root*, following symlinks, refusing loops."""
    out: list[SourceFile] = []
    try:
        root_st = os.stat(root)
    except OSError as exc:
        raise _os_error(exc, root) from None
    active: set[tuple[int, int]] = set()

    start = os.path.relpath(root, base).replace(os.sep, "/")
    start = "" if start == "." else start + "/"

    def visit(d: str, key: tuple[int, int], prefix: str) -> None:
        if key in active:
            raise InvalidInput(
                f"symbolic link loop: {d} leads back to a folder that contains it; "
                "remove the link or commit a sub-folder",
                details={"path": d},
            )
        active.add(key)
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise _os_error(exc, d) from None
        for e in entries:
            try:
                st = e.stat()  # follows symlinks
            except OSError as exc:
                if e.is_symlink() and exc.errno == errno.ENOENT:
                    raise InvalidInput(
                        f"{e.path} is a broken symbolic link; fix or remove it",
                        details={"path": e.path},
                    ) from None
                raise _os_error(exc, e.path) from None
            if statlib.S_ISDIR(st.st_mode):
                visit(e.path, (st.st_dev, st.st_ino), prefix + e.name + "/")
            elif statlib.S_ISREG(st.st_mode):
                out.append(
                    SourceFile(e.path, prefix + e.name, st.st_size, st.st_mtime_ns, st.st_ino)
                )
            else:
                raise InvalidInput(
                    f"{e.path} is not a regular file (a device, socket or pipe); "
                    "remove it from the folder or commit a glob that leaves it out",
                    details={"path": e.path},
                )
        active.discard(key)

    visit(root, (root_st.st_dev, root_st.st_ino), start)
    return out


def _dedupe(files: list[SourceFile]) -> list[SourceFile]:
    seen: dict[str, SourceFile] = {}
    for f in files:
        seen.setdefault(f.rel, f)
    return list(seen.values())


def scan_remote(url: str, storage_options: dict[str, Any]) -> tuple[Any, list[SourceFile]]:
    """Files under an fsspec URL (a file, a prefix or a glob)."""
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
        if _has_glob(root):
            base = root
            while _has_glob(base):
                base = base.rsplit("/", 1)[0]
            found = {p: fs.info(p) for p in fs.glob(root)}
        elif fs.isdir(root):
            base = root.rstrip("/")
            found = fs.find(root, detail=True)
        elif fs.exists(root):
            base = root.rsplit("/", 1)[0]
            found = {root: fs.info(root)}
        else:
            raise InvalidInput(
                f"nothing at {url}; check the URL and the credentials",
                details={"source": url},
            )
    except InvalidInput:
        raise
    except ImportError as exc:
        raise InvalidInput(f"cannot read {url}: {exc}", details={"source": url}) from None
    except Exception as exc:
        raise InvalidInput(
            f"cannot list {url}: {type(exc).__name__}: {exc}", details={"source": url}
        ) from None
    files = [
        SourceFile(p, p[len(base) :].lstrip("/"), int(info.get("size") or 0))
        for p, info in sorted(found.items())
        if info.get("type", "file") == "file"
    ]
    if not files:
        raise InvalidInput(f"no files under {url}", details={"source": url})
    return fs, files


# ----------------------------------------------------------------------------- storing
class _Progress:
    def __init__(self, fn: ProgressFn | None, files: int, nbytes: int) -> None:
        self.fn = fn
        self.total = (files, nbytes)
        self.done = [0, 0]
        self.lock = threading.Lock()
        self.step = max(1, files // 200)

    def add(self, nbytes: int) -> None:
        if self.fn is None:
            return
        with self.lock:
            self.done[0] += 1
            self.done[1] += nbytes
            if self.done[0] % self.step == 0 or self.done[0] == self.total[0]:
                self.fn(self.done[0], self.total[0], self.done[1], self.total[1])


def store_local_files(
    blobs: BlobStore,
    files: list[SourceFile],
    cache: HashCache,
    progress: ProgressFn | None = None,
) -> list[StoredFile]:
    """Hash (or look up) and store local files in parallel; results in input order."""
    prog = _Progress(progress, len(files), sum(f.size for f in files))
    cached: dict[str, tuple[tuple[int, int, int], str]] = {}
    if files:
        # the common folder of the lexicographically first and last paths is the
        # common folder of all of them (cheaper than commonpath over every path)
        cached = cache.load(
            os.path.commonpath([min(f.path for f in files), max(f.path for f in files)])
        )
    writer = _LocalWriter(blobs) if blobs.is_local else None
    fresh: list[tuple[str, tuple[int, int, int], str]] = []
    fresh_lock = threading.Lock()

    def work(f: SourceFile) -> StoredFile:
        key = (f.size, f.mtime_ns, f.inode)
        hit = cached.get(f.path)
        digest = hit[1] if hit is not None and hit[0] == key else None
        size = f.size
        if writer is not None:
            digest, size = writer.store(f, digest)
        else:
            if digest is None:
                digest, size = _hash_path(f.path)
            try:
                blobs.put_file(f.path, digest)
            except FileNotFoundError:
                raise InvalidInput(
                    f"{f.path} disappeared while it was being committed", details={"path": f.path}
                ) from None
        if hit is None or hit[1] != digest or hit[0] != key:
            with fresh_lock:
                fresh.append((f.path, key, digest))
        prog.add(size)
        return StoredFile(f.rel, size, digest, media_type(f.rel))

    # Unchanged files whose blob is still stored need one syscall each: do them here
    # and give the thread pool only the files that must be read.
    out: list[StoredFile | None] = [None] * len(files)
    todo: list[int] = []
    for i, f in enumerate(files):
        hit = cached.get(f.path)
        if (
            writer is not None
            and hit is not None
            and hit[0] == (f.size, f.mtime_ns, f.inode)
            and writer.touch(writer.blob_path(hit[1]))
        ):
            out[i] = StoredFile(f.rel, f.size, hit[1], media_type(f.rel))
            prog.add(f.size)
        else:
            todo.append(i)
    # Uploads to object stores wait on the network: every file gets the wide pool.
    small_limit = SMALL_FILE if writer is not None else 0
    small = [i for i in todo if files[i].size < small_limit]
    large = [i for i in todo if files[i].size >= small_limit]
    for group, workers in ((large, WORKERS), (small, SMALL_WORKERS)):
        results = _parallel(work, [files[i] for i in group], workers)
        for i, stored in zip(group, results, strict=True):
            out[i] = stored
    if writer is not None:
        writer.sync()
    cache.store(fresh)
    return out  # type: ignore[return-value]


def store_remote_files(
    blobs: BlobStore, fs: Any, files: list[SourceFile], progress: ProgressFn | None = None
) -> list[StoredFile]:
    """Stream files from an fsspec filesystem into the blob store, in parallel."""
    prog = _Progress(progress, len(files), sum(f.size for f in files))

    def work(f: SourceFile) -> StoredFile:
        try:
            with fs.open(f.path, "rb") as src:
                digest = blobs.put_stream(src)
        except StorageError:
            raise
        except Exception as exc:
            raise InvalidInput(
                f"cannot read {f.path}: {type(exc).__name__}: {exc}", details={"path": f.path}
            ) from None
        prog.add(f.size)
        return StoredFile(f.rel, f.size, digest, media_type(f.rel))

    return _parallel(work, files)


def _parallel(
    fn: Callable[[SourceFile], StoredFile], files: list[SourceFile], workers: int = 0
) -> list[StoredFile]:
    """Run *fn* over *files* on a thread pool, in batches (one task per batch, not per
    file: futures cost more than hashing a small file)."""
    workers = workers or WORKERS
    if len(files) <= 1 or workers == 1:
        return [fn(f) for f in files]
    n_batches = min(len(files), workers * 4)
    size = -(-len(files) // n_batches)
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    with ThreadPoolExecutor(min(workers, len(batches))) as pool:
        results = list(pool.map(lambda b: [fn(f) for f in b], batches))
    return [r for batch in results for r in batch]


def _hash_path(path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb", buffering=0) as f:
            while block := f.read(CHUNK):
                h.update(block)
                size += len(block)
    except OSError as exc:
        raise _os_error(exc, path) from None
    return format_digest(h.hexdigest()), size


class _LocalWriter:
    """Writes blobs straight into a local store: temp file + rename, one syncfs at the end."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.tmpdir = os.path.join(blobs.root, "tmp")
        self.prefix = f"{os.getpid()}-{os.urandom(4).hex()}-"
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        self.wrote = False
        self.written: list[str] = []  # the first few blobs written, to fsync one by one
        base = self.base = os.path.join(blobs.root, "sha256")
        for i in range(256):
            os.makedirs(os.path.join(base, f"{i:02x}"), exist_ok=True)

    def _tmp(self) -> str:
        return f"{self.tmpdir}/{self.prefix}{next(self.counter)}"  # count() is atomic

    def store(self, f: SourceFile, digest: str | None) -> tuple[str, int]:
        if digest is not None and self.touch(self.blob_path(digest)):
            return digest, f.size
        try:
            if f.size <= SMALL:
                return self._store_small(f.path, f.size)
            return self._store_large(f.path)
        except InvalidInput:
            raise
        except OSError as exc:
            if exc.filename in (None, f.path):
                raise _os_error(exc, f.path) from None
            raise StorageError(
                f"cannot write to the blob store {self.blobs.url}: {exc.strerror or exc}",
                details={"blob_url": self.blobs.url},
            ) from None

    def blob_path(self, digest: str) -> str:
        """``BlobStore.path`` without re-validating a digest we computed ourselves."""
        return f"{self.base}/{digest[7:9]}/{digest[9:]}"

    @staticmethod
    def touch(final: str) -> bool:
        """True if the blob exists; refreshes its mtime so that a concurrent ``gc``
        (which spares recent blobs) cannot delete it before this commit references it."""
        try:
            os.utime(final)
            return True
        except FileNotFoundError:
            return False
        except OSError:
            return os.path.exists(final)

    def _store_small(self, path: str, size: int) -> tuple[str, int]:
        fd = os.open(path, os.O_RDONLY)
        try:
            # one sized read: a short read of a regular file means end of file
            data = os.read(fd, size + 1)
            if len(data) > size:  # it grew since the scan: read the rest
                parts = [data]
                while chunk := os.read(fd, CHUNK):
                    parts.append(chunk)
                data = b"".join(parts)
        finally:
            os.close(fd)
        hexdigest = hashlib.sha256(data).hexdigest()
        digest = format_digest(hexdigest)
        final = f"{self.base}/{hexdigest[:2]}/{hexdigest[2:]}"
        if not self.touch(final):
            tmp = self._tmp()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, final)
            self._wrote(final)
        return digest, len(data)

    def _store_large(self, path: str) -> tuple[str, int]:
        # Copy in the kernel (copy_file_range) in one thread while this one hashes the
        # source: the two run side by side, like `cp` and `sha256sum` in parallel.
        tmp = self._tmp()
        src_fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(src_fd).st_size
            out_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            err: list[BaseException] = []

            def copy() -> None:
                try:
                    _copy_fd(src_fd, out_fd, size)
                except BaseException as exc:
                    err.append(exc)

            t = threading.Thread(target=copy, daemon=True)
            t.start()
            h = hashlib.sha256()
            n = 0
            with open(path, "rb", buffering=0) as f:
                while block := f.read(CHUNK * 4):
                    h.update(block)
                    n += len(block)
            t.join()
            os.close(out_fd)
            if err:
                raise err[0]
            if n != size:
                raise InvalidInput(
                    f"{path} changed while it was being committed; retry once it is "
                    "no longer being written",
                    details={"path": path},
                )
            digest = format_digest(h.hexdigest())
            final = self.blobs.path(digest)
            if self.touch(final):
                os.unlink(tmp)
            else:
                os.replace(tmp, final)
                self._wrote(final)
            return digest, n
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            os.close(src_fd)

    def _wrote(self, path: str) -> None:
        with self.lock:
            self.wrote = True
            if len(self.written) <= FSYNC_EACH_MAX:
                self.written.append(path)

    def sync(self) -> None:
        """Make every blob written by this commit durable, before metadata points at it:
        a few blobs are fsync'ed one by one, many with one ``syncfs`` of the store."""
        if not self.wrote:
            return
        if len(self.written) <= FSYNC_EACH_MAX:
            for path in self.written:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for d in {os.path.dirname(p) for p in self.written}:
                fd = os.open(d, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        else:
            _syncfs(self.blobs.root)


def _copy_fd(src: int, dst: int, size: int) -> None:
    offset = 0
    try:
        while offset < size:
            n = os.copy_file_range(src, dst, min(size - offset, 1 << 30), offset, offset)
            if n == 0:
                break
            offset += n
        return
    except OSError:
        pass  # not supported here: plain copy from where we are
    while offset < size:
        block = os.pread(src, CHUNK * 4, offset)
        if not block:
            break
        os.pwrite(dst, block, offset)
        offset += len(block)


_libc: Any = None


def _syncfs(path: str) -> None:
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.syncfs(fd) != 0:  # pragma: no cover - Linux has syncfs
                os.sync()
        finally:
            os.close(fd)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        os.sync()
