"""Foundation: settings, ids, errors, references, hashing, clock."""

from ._clock import as_utc, utcnow
from ._config import Settings
from ._errors import (
    AlreadyExists,
    BlobCorrupted,
    ConfigurationError,
    Conflict,
    InvalidInput,
    InvalidReference,
    MissingExtra,
    NotFound,
    ShipyardError,
    ShipyardWarning,
    StorageError,
    did_you_mean,
)
from ._hashing import hash_bytes, hash_file, hash_stream, split_digest, stable_hash
from ._ids import id_time_ms, is_id, new_id
from ._refs import Ref, parse_ref, validate_name

__all__ = [
    "AlreadyExists",
    "BlobCorrupted",
    "ConfigurationError",
    "Conflict",
    "InvalidInput",
    "InvalidReference",
    "MissingExtra",
    "NotFound",
    "Ref",
    "Settings",
    "ShipyardError",
    "ShipyardWarning",
    "StorageError",
    "as_utc",
    "did_you_mean",
    "hash_bytes",
    "hash_file",
    "hash_stream",
    "id_time_ms",
    "is_id",
    "new_id",
    "parse_ref",
    "split_digest",
    "stable_hash",
    "utcnow",
    "validate_name",
]
