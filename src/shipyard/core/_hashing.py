"""Streaming hashing helpers: constant memory for any size."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import BinaryIO

ALGORITHM = "sha256"
CHUNK = 1 << 20


def format_digest(hexdigest: str) -> str:
    return f"{ALGORITHM}:{hexdigest}"


def split_digest(digest: str) -> str:
    """Return the hex part of ``sha256:<hex>``; raise ValueError if malformed."""
    algo, sep, hexpart = digest.partition(":")
    if not sep or algo != ALGORITHM or len(hexpart) != 64:
        raise ValueError(f"not a {ALGORITHM} digest: {digest!r}")
    int(hexpart, 16)
    return hexpart


def hash_bytes(data: bytes) -> str:
    return format_digest(hashlib.sha256(data).hexdigest())


def hash_stream(stream: BinaryIO, chunk_size: int = CHUNK) -> tuple[str, int]:
    """Hash a readable binary stream; return ``(digest, size)``."""
    h = hashlib.sha256()
    size = 0
    while True:
        block = stream.read(chunk_size)
        if not block:
            break
        h.update(block)
        size += len(block)
    return format_digest(h.hexdigest()), size


def hash_file(path: str | os.PathLike[str], chunk_size: int = CHUNK) -> tuple[str, int]:
    """Hash a file; return ``(digest, size)``. Small files are read in one call."""
    with open(path, "rb", buffering=0) as f:
        return hash_stream(f, chunk_size)


def hash_chunks(chunks: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return format_digest(h.hexdigest())


def stable_hash(*parts: str | bytes) -> str:
    """Digest of several parts, unambiguous about where one ends and the next starts."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return format_digest(h.hexdigest())
