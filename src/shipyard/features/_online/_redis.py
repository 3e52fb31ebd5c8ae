"""The Redis online store: one string key per (view version, entity), fetched with MGET.

Value layout: 20 digits of event µs, 20 digits of created µs, then the payload, so that
the "not older" rule is a string comparison inside one Lua script per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ...core import ConfigurationError, MissingExtra, StorageError
from ._base import Found, OnlineStore, Record

_OFFSET = 10**19  # keeps negative (pre-1970) µs sortable as fixed-width digits
_HEAD = 40

_UPSERT_LUA = """
local n = 0
for i, key in ipairs(KEYS) do
  local value = ARGV[i]
  local cur = redis.call('GETRANGE', key, 0, 39)
  if cur == '' or string.sub(value, 1, 40) >= cur then
    redis.call('SET', key, value)
    n = n + 1
  end
end
return n
"""


class RedisOnlineStore(OnlineStore):
    name = "redis"

    def __init__(self, url: str, prefix: str = "shipyard:online") -> None:
        super().__init__(url)
        try:
            import redis
        except ImportError:
            raise MissingExtra("the Redis online store", "redis", "redis") from None
        try:
            self._client: Any = redis.Redis.from_url(url, socket_connect_timeout=5)
            self._client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot reach the Redis online store at {url}: {exc}; start Redis or set "
                "online_store_url / SHIPYARD_REDIS_URL",
                details={"url": url},
            ) from None
        self._errors: Any = redis.RedisError
        self._prefix = prefix
        self._script = self._client.register_script(_UPSERT_LUA)
        self._lock = threading.Lock()

    def _key(self, view_id: str, entity_key: str) -> str:
        return f"{self._prefix}:{view_id}:{entity_key}"

    def write(self, view_id: str, records: Sequence[Record]) -> int:
        written = 0
        try:
            for i in range(0, len(records), 2000):
                chunk = records[i : i + 2000]
                keys = [self._key(view_id, k) for k, _, _, _ in chunk]
                values = [
                    f"{e + _OFFSET:020d}{c + _OFFSET:020d}".encode() + p for _, e, c, p in chunk
                ]
                written += int(self._script(keys=keys, args=values))
        except self._errors as exc:
            raise StorageError(f"writing to the Redis online store {self.url} failed: {exc}")
        return written

    def read(self, requests: Sequence[tuple[str, str]]) -> Found:
        if not requests:
            return {}
        try:
            values = self._client.mget([self._key(v, k) for v, k in requests])
        except self._errors as exc:
            raise StorageError(f"reading the Redis online store {self.url} failed: {exc}")
        out: Found = {}
        for req, value in zip(requests, values, strict=True):
            if value is not None:
                out[req] = (int(value[:20]) - _OFFSET, bytes(value[_HEAD:]))
        return out

    def _scan(self, view_id: str) -> list[bytes]:
        return list(self._client.scan_iter(match=f"{self._prefix}:{view_id}:*", count=1000))

    def count(self, view_id: str) -> int:
        return len(self._scan(view_id))

    def delete_view(self, view_id: str) -> None:
        keys = self._scan(view_id)
        for i in range(0, len(keys), 1000):
            self._client.delete(*keys[i : i + 1000])

    def close(self) -> None:
        self._client.close()
