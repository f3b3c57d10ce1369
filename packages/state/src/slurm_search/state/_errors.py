"""The errors of slurm_search.state.

Every error a user can cause reads, as a string, as one line that names the
problem and the way out. Each carries the values a caller needs as attributes
(never parse the message), and survives pickling, so it can cross a process
boundary (multiprocessing, concurrent.futures) intact.
"""

from __future__ import annotations

import errno as _errno
from pathlib import Path

from slurm_search.locking import SlurmSearchError

RESTORE_COMMAND = "python -m slurm_search.state restore {name}"
SALVAGE_COMMAND = "python -m slurm_search.state salvage {name}"


class StateError(SlurmSearchError):
    """Base class of every error raised by slurm_search.state."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidName(StateError, ValueError):
    """A name is not `type:name` with both parts `[A-Za-z0-9][A-Za-z0-9_.-]*`.

    Attributes:
        name: the name as given (any object).
    """

    def __init__(self, name: object, why: str = "") -> None:
        detail = f" ({why})" if why else ""
        super().__init__(
            f"invalid state name {name!r}{detail}: use TYPE:NAME, each part "
            "letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
        self.name = name


class NotFound(StateError, KeyError):
    """No object (or no previous version) is stored under a name.

    Attributes:
        name: the `type:name` asked for.
        path: the file that does not exist.
    """

    def __init__(self, name: str, path: Path, what: str = "object", way_out: str = "nothing to restore") -> None:
        if what == "object":
            message = f"no object named {name!r} (no file {path}): create it first"
        else:
            message = f"{name!r} has no {what} (no file {path}): {way_out}"
        super().__init__(message)
        self.name = name
        self.path = path


class AlreadyExists(StateError):
    """`create` was called for a name that is already stored.

    Attributes:
        name: the `type:name`.
        path: the existing file.
    """

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(
            f"an object named {name!r} already exists ({path}): "
            "use update() or transaction() to change it, or delete() it first"
        )
        self.name = name
        self.path = path


class CorruptState(StateError):
    """A stored file cannot be read back.

    Attributes:
        name: the `type:name`.
        path: the damaged file.
        offset: for a log, the byte offset of the damaged frame; else None.
    """

    def __init__(
        self,
        name: str,
        path: Path,
        reason: str,
        offset: int | None = None,
        way_out: str | None = None,
    ) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        if way_out is not None:
            pass
        elif offset is None:
            way_out = "restore the previous version with: " + RESTORE_COMMAND.format(name=name)
        else:
            # Readers never skip data; salvage does, by hand, and keeps the
            # damaged file aside.
            command = SALVAGE_COMMAND.format(name=name)
            way_out = f"nothing was skipped; recover every readable record with: {command}"
        super().__init__(f"{path} is corrupt{where} ({reason}): {way_out}")
        self.name = name
        self.path = path
        self.offset = offset
        self.reason = reason


class UnsafeState(StateError):
    """A stored file or one of its folders could be changed by someone else.

    Unpickling runs code, so the store refuses to load it.

    Attributes:
        path: the file or folder at fault.
        reason: what is wrong with it.
    """

    def __init__(self, path: Path, reason: str, fix: str) -> None:
        super().__init__(f"refusing to load from {path}: it is {reason}, and unpickling runs code; {fix}")
        self.path = path
        self.reason = reason
        self.fix = fix


class LogCompacted(StateError):
    """The log was compacted (or replaced) since a reader's position.

    Read again from 0.

    Attributes:
        name: the `type:name`.
        position: the stale position.
    """

    def __init__(self, name: str, position: object) -> None:
        super().__init__(f"the log of {name!r} was compacted since position {position}: read it again from 0")
        self.name = name
        self.position = position


class LockNotCoherent(StateError):
    """A write was refused because the name's lock did not hold exclusion.

    Another writer changed the file under this process's lock, or this
    process's soft lock was taken over while it was paused. Nothing was
    written; retrying is safe. If it repeats, the store's locks do not exclude
    across hosts.

    Attributes:
        name: the `type:name` (or lock name).
        path: the file that was not written.
        reason: what the check found.
    """

    def __init__(self, name: str, path: Path, reason: str) -> None:
        super().__init__(
            f"{path} was not written: {reason}; nothing was changed, retrying is safe. "
            "If this repeats, the store's locks do not exclude across hosts: run "
            "python -m slurm_search.state doctor, and use SLURM_SEARCH_LOCK=soft"
        )
        self.name = name
        self.path = path
        self.reason = reason


class Unpicklable(StateError, TypeError):
    """A value to store does not pickle (a lock, an open file, a lambda...).

    Nothing was written.

    Attributes:
        name: the `type:name` it was for.
        kind: the type of the value given.
        reason: what pickle said.
    """

    def __init__(self, name: str, kind: str, reason: str) -> None:
        super().__init__(
            f"cannot store a {kind} under {name}: it does not pickle ({reason}); store only picklable "
            "values (no locks, open files, generators or lambdas); nothing was written"
        )
        self.name = name
        self.kind = kind
        self.reason = reason


class StoreUnavailable(StateError):
    """The filesystem refused a write or a read: full, read-only, no permission, a link.

    Nothing stored is lost: writes are atomic, so the failed one left the
    old version in place.

    Attributes:
        path: the file or folder, when the system said which.
        errno: the system's error number.
    """

    def __init__(self, path: object, errno_: int, reason: str, fix: str) -> None:
        where = f" at {path}" if path else ""
        super().__init__(f"the store{where} is {reason}: {fix}; nothing stored was lost")
        self.path = path
        self.errno = errno_


_OS_ERRORS = {
    _errno.ENOSPC: ("full (no space left on the device)", "free space there, then run the command again"),
    _errno.EDQUOT: ("over its disk quota", "free space or raise the quota, then run the command again"),
    _errno.EROFS: ("on a read-only filesystem", "point SLURM_SEARCH_HOME at a writable folder"),
    _errno.EACCES: (
        "not writable by you",
        "check the folder's owner and mode (ls -ld), or use another SLURM_SEARCH_HOME",
    ),
    _errno.EPERM: (
        "not writable by you",
        "check the folder's owner and mode (ls -ld), or use another SLURM_SEARCH_HOME",
    ),
    _errno.ELOOP: ("reached through a symbolic link", "replace the link with the real file or folder"),
    _errno.ENOTDIR: (
        "a file where a folder should be",
        "move that file away, or point SLURM_SEARCH_HOME at another folder",
    ),
}


def store_os_error(err: OSError) -> StoreUnavailable | None:
    """The one-line error a command prints for `err`, if it is one a user can fix."""
    found = _OS_ERRORS.get(err.errno or 0)
    if found is None:
        return None
    return StoreUnavailable(err.filename, err.errno or 0, *found)
