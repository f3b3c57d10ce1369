"""Names (`type:name`) and where the files of a name live.

A name is checked here, before anything touches the filesystem: each part
must match `[A-Za-z0-9][A-Za-z0-9_.-]*`, which keeps out `..`, `/`, hidden
files, empty parts and a second `:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from slurm_search.locking import settings

from ._errors import InvalidName

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

OBJECT_FILE = "session_state.pickle"
PREVIOUS_FILE = OBJECT_FILE + ".prev"
LOG_FILE = "records.log"


def check_part(part: object, name: object = None) -> str:
    """Return `part` if it is a valid type or name part, else raise InvalidName."""
    if not isinstance(part, str) or _PART.fullmatch(part) is None:
        raise InvalidName(part if name is None else name)
    return part


def split(name: object) -> tuple[str, str]:
    """Split a `type:name` into its two parts.

    Raises:
        InvalidName: `name` is not a valid `type:name`.
    """
    if not isinstance(name, str):
        raise InvalidName(name, "not a string")
    parts = name.split(":")
    if len(parts) != 2:
        raise InvalidName(name, "it needs exactly one ':'")
    return check_part(parts[0], name), check_part(parts[1], name)


@dataclass(frozen=True)
class Paths:
    """The files and folders of one name under one root."""

    name: str
    root: Path
    type_dir: Path
    dir: Path
    object: Path
    previous: Path
    log: Path

    def chain(self) -> tuple[Path, Path, Path]:
        """The folders whose permissions guard this name's files, root first."""
        return (self.root, self.type_dir, self.dir)


def root() -> Path:
    """The store's root: `$SLURM_SEARCH_HOME`, default `~/hyperparameters`."""
    return settings.home()


# Building the paths costs more than some of the file operations they serve
# (pathlib joins): keep them per name and per environment that decides the root.
_cache: dict[tuple[str, str, str], Paths] = {}
_CACHE_SIZE = 4096


def paths(name: object) -> Paths:
    """The paths of a name (validated first)."""
    if isinstance(name, str):
        key = (name, *settings.home_key())
        found = _cache.get(key)
        if found is not None:
            return found
    type_, obj = split(name)
    base = root()
    folder = base / type_ / obj
    found = Paths(
        f"{type_}:{obj}",
        base,
        base / type_,
        folder,
        folder / OBJECT_FILE,
        folder / PREVIOUS_FILE,
        folder / LOG_FILE,
    )
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[key] = found
    return found
