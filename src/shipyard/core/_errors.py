"""The error hierarchy users see.

Every error a user can cause derives from :class:`ShipyardError`. Messages name the
object that was wrong and say what to do about it. The server maps ``http_status``
to the response code; the CLI prints ``str(error)`` and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class ShipyardWarning(UserWarning):
    """Base class of warnings Shipyard emits."""


class ShipyardError(Exception):
    """Root of every error a user can cause."""

    http_status: int = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "message": self.message, "details": self.details}


class NotFound(ShipyardError):
    """The object a reference names does not exist."""

    http_status = 404


class AlreadyExists(ShipyardError):
    """An object with that name or identity exists already."""

    http_status = 409


class Conflict(ShipyardError):
    """The request contradicts the current state (finished run, moved alias…)."""

    http_status = 409


class InvalidInput(ShipyardError):
    """The input is malformed: a bad name, reference, value or file."""

    http_status = 422


class InvalidReference(InvalidInput):
    """An object reference does not follow the ``name[@version|alias|digest]`` grammar."""


class ConfigurationError(InvalidInput):
    """Settings (a database URL, a blob URL, a home directory) cannot be used."""


class StorageError(ShipyardError):
    """A storage backend failed in a way the user can act on (unreachable, read-only…)."""

    http_status = 503


class BlobCorrupted(StorageError):
    """Stored bytes no longer match their digest."""

    http_status = 500


class MissingExtra(ShipyardError):
    """An optional dependency is not installed."""

    http_status = 501

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional package '{module}', which is not installed; "
            f"install it with: pip install 'shipyard[{extra}]'",
            details={"extra": extra, "module": module},
        )


def did_you_mean(known: list[str], limit: int = 10) -> str:
    """Format a short 'known: a, b, c' hint for NotFound messages."""
    if not known:
        return "there are none yet"
    shown = ", ".join(sorted(known)[:limit])
    more = f" (and {len(known) - limit} more)" if len(known) > limit else ""
    return f"known: {shown}{more}"
