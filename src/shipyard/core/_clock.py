"""Time in one place: timezone-aware UTC everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to naive datetimes (as SQLite returns them), convert aware ones."""
    if not isinstance(value, datetime):
        from ._errors import InvalidInput

        raise InvalidInput(
            f"expected a datetime (e.g. datetime.now(UTC)), got {value!r} ({type(value).__name__})"
        )
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
