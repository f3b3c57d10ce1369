"""Lock-name validation: a name becomes a file name, so it must not be able
to leave the lock folder."""

from __future__ import annotations

from ._errors import InvalidLockName

__all__ = ["validate_name"]

_MAX_LENGTH = 200  # file names are limited to 255 bytes; keep room for suffixes


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid lock name, else raise InvalidLockName."""
    if not isinstance(name, str):
        raise InvalidLockName(name, f"a lock name is a str, not {type(name).__name__}")
    if not name:
        raise InvalidLockName(name, "it is empty")
    if "/" in name or "\\" in name:
        raise InvalidLockName(name, "it contains a path separator")
    if ".." in name:
        raise InvalidLockName(name, "it contains '..'")
    if name.startswith("."):
        raise InvalidLockName(name, "it starts with '.'")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidLockName(name, "it contains a control character")
    if len(name.encode()) > _MAX_LENGTH:
        raise InvalidLockName(name, f"it is longer than {_MAX_LENGTH} bytes")
    return name
