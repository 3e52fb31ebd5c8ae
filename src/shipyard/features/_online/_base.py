"""The online store contract.

An online store holds, per feature view version and entity key, the latest materialized
feature row: its event time (µs since the epoch, UTC), its created time and a payload
(the feature values in the view's order, JSON-encoded). Backends only store and fetch
these records; everything above (key encoding, TTL, statuses) lives in the service.

Contract every backend honours (the shared test suite checks it):

* ``write(view_id, records)`` upserts records ``(entity_key, event_us, created_us,
  payload)``; a record replaces the stored one only if ``(event_us, created_us)`` is
  not older, so replaying or backfilling an old window never overwrites newer values.
  A call is atomic per batch where the backend allows (SQLite, PostgreSQL: one
  transaction; Redis: one server-side script).
* ``read(requests)`` fetches many ``(view_id, entity_key)`` pairs in ONE round trip and
  returns ``{(view_id, entity_key): (event_us, payload)}`` with missing pairs absent.
* Both are thread-safe. Backend failures raise :class:`~shipyard.core.StorageError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

Record = tuple[str, int, int, bytes]  # entity_key, event_us, created_us, payload
Found = dict[tuple[str, str], tuple[int, bytes]]


class OnlineStore(ABC):
    """Base class of online store backends (see the module docstring for the contract)."""

    name: ClassVar[str]

    def __init__(self, url: str) -> None:
        self.url = url

    @abstractmethod
    def write(self, view_id: str, records: Sequence[Record]) -> int:
        """Upsert *records* of one view version; return how many were written."""

    @abstractmethod
    def read(self, requests: Sequence[tuple[str, str]]) -> Found:
        """Fetch ``(view_id, entity_key)`` pairs in one round trip."""

    @abstractmethod
    def count(self, view_id: str) -> int:
        """How many entities the store holds for a view version."""

    @abstractmethod
    def delete_view(self, view_id: str) -> None:
        """Remove every record of a view version."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "url": self.url}
