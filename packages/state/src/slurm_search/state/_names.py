"""Names (`type:name`) and where the files of a name live.

A name is checked here, before anything touches the filesystem: each part
must match `[A-Za-z0-9][A-Za-z0-9_.-]*`, which keeps out `..`, `/`, hidden
files, empty parts and a second `:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from slurm_search import locking

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

    @property
    def object(self) -> Path:
        return self.dir / OBJECT_FILE

    @property
    def previous(self) -> Path:
        return self.dir / PREVIOUS_FILE

    @property
    def log(self) -> Path:
        return self.dir / LOG_FILE

    def chain(self) -> tuple[Path, Path, Path]:
        """The folders whose permissions guard this name's files, root first."""
        return (self.root, self.type_dir, self.dir)


def root() -> Path:
    """The store's root: `$SLURM_SEARCH_HOME`, default `~/hyperparameters`."""
    return locking.home()


def paths(name: object) -> Paths:
    """The paths of a name (validated first)."""
    type_, obj = split(name)
    base = root()
    return Paths(f"{type_}:{obj}", base, base / type_, base / type_ / obj)
