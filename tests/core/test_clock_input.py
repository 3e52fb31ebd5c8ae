"""Times given where a datetime is expected get a clear error, not an AttributeError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shipyard.core import InvalidInput, as_utc


def test_as_utc_converts_and_refuses_non_datetimes() -> None:
    aware = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(aware) == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert as_utc(datetime(2026, 1, 1)).tzinfo is UTC
    with pytest.raises(InvalidInput, match=r"expected a datetime.*'2026-01-01' \(str\)"):
        as_utc("2026-01-01")  # type: ignore[arg-type]
