"""Sortable unique ids (ULID: 48-bit millisecond time + 80 random bits, Crockford base32).

Ids made in one process are strictly increasing even within one millisecond, so
ordering by id is ordering by creation time.
"""

from __future__ import annotations

import os
import random
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0
ID_LENGTH = 26
# Ids need uniqueness, not secrecy: a per-process generator seeded from the OS avoids a
# system call per id; it is reseeded in every forked child so children never collide.
_rng = random.Random(os.urandom(32))


def _reseed() -> None:
    global _rng, _last_ms
    _rng = random.Random(os.urandom(32))
    _last_ms = -1


os.register_at_fork(after_in_child=_reseed)


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_id() -> str:
    """Return a new 26-character ULID, monotonic within this process."""
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _last_rand += 1
            if _last_rand >= 1 << 80:  # pragma: no cover - 2**80 ids in one ms
                ms += 1
                _last_rand = _rng.getrandbits(79)
        else:
            _last_rand = _rng.getrandbits(79)
        _last_ms = ms
        return _encode(ms, 10) + _encode(_last_rand, 16)


def is_id(text: str) -> bool:
    """True if *text* looks like an id made by :func:`new_id`."""
    return len(text) == ID_LENGTH and all(c in _DECODE for c in text.upper())


def id_time_ms(value: str) -> int:
    """The creation time (ms since the epoch) encoded in an id."""
    ms = 0
    for c in value[:10].upper():
        ms = ms * 32 + _DECODE[c]
    return ms
