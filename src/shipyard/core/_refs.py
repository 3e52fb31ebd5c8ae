"""One grammar for object references, shared by every service, the CLI and the API.

::

    name                latest version
    name@3              version 3
    name@champion       alias
    name@latest         latest version (explicit)
    name@sha256:ab12    digest prefix (at least 4 hex digits)

Names start with a letter or digit and may contain letters, digits, ``.``, ``_`` and
``-`` (at most 128 characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._errors import InvalidInput, InvalidReference

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_NAME_RE = re.compile(rf"^{NAME_PATTERN}$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
_DIGEST_RE = re.compile(r"^sha256:([0-9a-fA-F]{4,64})$")


@dataclass(frozen=True)
class Ref:
    """A parsed reference. Exactly one of version / alias / digest is set, or none (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None
    digest_prefix: str | None = None

    @property
    def is_latest(self) -> bool:
        return self.version is None and self.alias is None and self.digest_prefix is None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        if self.digest_prefix is not None:
            return f"{self.name}@sha256:{self.digest_prefix}"
        return self.name


def validate_name(name: str, kind: str = "object") -> str:
    """Return *name* if it is a valid object name, else raise InvalidInput saying why."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (for example 'churn' or 'churn-v2')",
            details={"name": name, "kind": kind},
        )
    return name


def parse_ref(text: str, kind: str = "object") -> Ref:
    """Parse ``name[@version|@alias|@sha256:prefix]``; raise InvalidReference on bad input."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference(
            f"empty {kind} reference: expected 'name', 'name@3', 'name@alias' "
            "or 'name@sha256:<hex>'",
            details={"ref": text},
        )
    text = text.strip()
    name, sep, selector = text.partition("@")
    if not _NAME_RE.match(name):
        raise InvalidReference(
            f"malformed {kind} reference {text!r}: the name part {name!r} must be 1-128 "
            "letters, digits, '.', '_' or '-', starting with a letter or digit",
            details={"ref": text, "position": 0},
        )
    if not sep:
        return Ref(name)
    if not selector:
        raise InvalidReference(
            f"malformed {kind} reference {text!r}: nothing after '@'; "
            f"write {name}@3, {name}@champion or {name}@sha256:<hex>",
            details={"ref": text, "position": len(name) + 1},
        )
    if selector.isdigit():
        version = int(selector)
        if version < 1:
            raise InvalidReference(
                f"malformed {kind} reference {text!r}: versions start at 1",
                details={"ref": text, "position": len(name) + 1},
            )
        return Ref(name, version=version)
    if selector.startswith("sha256:") or selector.startswith("sha256"):
        m = _DIGEST_RE.match(selector)
        if not m:
            raise InvalidReference(
                f"malformed {kind} reference {text!r}: a digest selector is "
                "'sha256:' followed by 4 to 64 hex digits",
                details={"ref": text, "position": len(name) + 1},
            )
        return Ref(name, digest_prefix=m.group(1).lower())
    if selector == "latest":
        return Ref(name)
    if not _ALIAS_RE.match(selector):
        raise InvalidReference(
            f"malformed {kind} reference {text!r}: {selector!r} is neither a version "
            "number, an alias (letters first, then letters, digits, '.', '_', '-') "
            "nor a digest 'sha256:<hex>'",
            details={"ref": text, "position": len(name) + 1},
        )
    return Ref(name, alias=selector)
