"""Whole named objects: create, read, update, transaction, delete, restore.

Concurrency contract: every call that writes holds the name's lock (taking it,
or using the one this thread already holds); `read` takes no lock, because a
write replaces the file atomically and a reader sees the old object or the new
one. `transaction` holds the lock from the read to the write-back, so
read-modify-write cycles of many processes on many hosts never lose an update.
"""

from __future__ import annotations

import logging
import os
import pickle
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import _names
from ._errors import AlreadyExists, CorruptState, NotFound, Unpicklable
from ._files import (
    check_dirs,
    ensure_dirs,
    ensure_private_dir,
    fsync_dir,
    read_checked,
    read_stamped,
)
from ._locks import held
from ._names import Paths
from ._stand_ins import loads as stand_ins_loads
from ._writes import atomic_write, create_new

logger = logging.getLogger(__name__)

# Pinned, not pickle.HIGHEST_PROTOCOL: every Python the store supports must
# read what any of them wrote.
PICKLE_PROTOCOL = 5


class Box:
    """What `transaction` yields: the object as `.value`.

    Mutate `box.value` in place or assign a new object to it; either is
    written back when the block ends normally.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Box({self.value!r})"


def dumps(obj: Any, name: str = "the store") -> bytes:
    """``obj`` pickled; `Unpicklable` (one line, nothing written) if it does not pickle."""
    try:
        return pickle.dumps(obj, protocol=PICKLE_PROTOCOL)
    except Exception as err:  # pickling user objects raises many types
        raise Unpicklable(name, type(obj).__name__, f"{type(err).__name__}: {err}") from None


def unpickle(
    name: str, path: Path, data: bytes, way_out: str | None = None, *, stand_ins: bool = False
) -> Any:
    """Unpickle a stored file's bytes; a damaged file raises CorruptState.

    A missing module or class (ImportError, AttributeError) is not damage:
    it propagates as it is, since restoring an older version would not help;
    with `stand_ins`, it is read as a stand-in instead (`_stand_ins.py`).
    """
    try:
        return stand_ins_loads(data) if stand_ins else pickle.loads(data)
    except (ImportError, AttributeError):
        raise
    except Exception as err:  # any other failure of the pickle machine means bad bytes
        reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        if not data:
            reason = "empty file"
        raise CorruptState(name, path, reason, way_out=way_out) from err


def load_file(p: Paths, path: Path, what: str = "object") -> bytes:
    """Read a file of a name after the permission checks; NotFound if missing."""
    try:
        check_dirs(p.chain())
        # links=2: an object and its previous version share a file between
        # `keep_previous` and the rename (for good if the rename was refused).
        return read_checked(path, links=2)
    except FileNotFoundError:
        raise NotFound(p.name, path, what) from None


def _load(p: Paths, stand_ins: bool = False) -> Any:
    return unpickle(p.name, p.object, load_file(p, p.object), stand_ins=stand_ins)


def create(name: str, obj: Any, *, timeout: float | None = None) -> None:
    """Store a new object under `name`.

    Args:
        name: `type:name`.
        obj: any picklable object.
        timeout: seconds to wait for the lock (None: forever).

    Raises:
        InvalidName: the name is not `type:name`.
        AlreadyExists: an object is already stored under `name`.
        LockTimeout: the lock was not had in time.
    """
    p = _names.paths(name)
    data = dumps(obj, p.name)
    with held(p.name, timeout):
        ensure_dirs((p.root, p.type_dir, p.dir))
        if p.object.exists() or not create_new(p.object, data, lock=p.name):
            raise AlreadyExists(p.name, p.object)


def read(name: str, *, stand_ins: bool = False) -> Any:
    """The object stored under `name` (takes no lock).

    Args:
        name: `type:name`.
        stand_ins: read a class or function whose module does not import
            here as a `NotLoaded` stand-in instead of raising ImportError
            (for listings, which must never need the user's code).

    Raises:
        InvalidName: the name is not `type:name`.
        NotFound: nothing is stored under `name`.
        CorruptState: the file does not unpickle (see its message to restore).
        UnsafeState: the file or a folder could have been written by someone else.
    """
    return _load(_names.paths(name), stand_ins)


def update(name: str, obj: Any, *, timeout: float | None = None) -> None:
    """Replace the object stored under `name`; the old one becomes the previous version.

    Raises:
        InvalidName, NotFound, LockTimeout: as for `create` and `read`.
    """
    p = _names.paths(name)
    data = dumps(obj, p.name)
    with held(p.name, timeout):
        if not p.object.exists():
            raise NotFound(p.name, p.object)
        atomic_write(p.object, data, previous=p.previous, lock=p.name)


@contextmanager
def transaction(name: str, *, timeout: float | None = None) -> Iterator[Box]:
    """Hold the lock of `name`, yield its object in a Box, write it back.

    The object is written back atomically when the block ends normally, and
    not at all when it raises. Other state calls on `name` inside the block
    use the lock held here.

    Example:
        with transaction("exp:demo") as box:
            box.value["n"] += 1

    Raises:
        InvalidName: the name is malformed.
        NotFound: nothing is stored under `name`.
        CorruptState: the file does not unpickle.
        UnsafeState: a file or folder is writable by others or owned by another user.
        LockTimeout: the lock was not taken within `timeout`.
    """
    p = _names.paths(name)
    with held(p.name, timeout):
        try:
            check_dirs(p.chain())
            data, st = read_stamped(p.object, links=2)  # see load_file
        except FileNotFoundError:
            raise NotFound(p.name, p.object) from None
        box = Box(unpickle(p.name, p.object, data))
        yield box
        # Refused (LockNotCoherent) if the lock did not hold: a soft lock taken
        # over while we were paused, or a file changed by a host the lock did
        # not exclude. Then nothing is written.
        atomic_write(
            p.object, dumps(box.value, p.name), previous=p.previous, lock=p.name, expect=(st, data)
        )


def subdir(name: str, part: str) -> Path:
    """The folder `<root>/<type>/<name>/<part>` (for a session's worker logs), created on demand.

    Created with the store's mode (0700, or 0770 for a group-shared store);
    a link there (or a file) is refused, so nothing is written outside the store.

    Raises:
        InvalidName: the name, or `part`, is not valid.
        UnsafeState: the folder or one above it is a link, or writable by others.
    """
    p = _names.paths(name)
    _names.check_part(part)
    ensure_dirs((p.root, p.type_dir, p.dir))
    check_dirs(p.chain())
    return ensure_private_dir(p.dir / part)


def exists(name: str) -> bool:
    """Whether an object is stored under `name`.

    Raises:
        InvalidName: the name is not `type:name`.
    """
    return _names.paths(name).object.exists()


def names(type: str | None = None) -> list[str]:  # noqa: A002 - the issue's spelling
    """The names of the stored objects, sorted, optionally of one type.

    Raises:
        InvalidName: `type` is not a valid type part.
    """
    base = _names.root()
    types = [_names.check_part(type)] if type is not None else _list_parts(base)
    found = []
    for t in types:
        for n in _list_parts(base / t):
            if (base / t / n / _names.OBJECT_FILE).exists():
                found.append(f"{t}:{n}")
    return found


def _list_parts(folder: Path) -> list[str]:
    try:
        entries = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e for e in entries if _names._PART.fullmatch(e))


def delete(name: str, *, timeout: float | None = None) -> None:
    """Delete everything stored under `name`: object, previous version, log, logs/.

    The folder is first renamed to a hidden name (atomic), so a crash half-way
    leaves either the whole object or none of it.

    Raises:
        InvalidName: the name is malformed.
        LockTimeout: the lock was not taken within `timeout`.
        NotFound: nothing is stored under `name`.
    """
    p = _names.paths(name)
    with held(p.name, timeout):
        if not p.dir.is_dir():
            raise NotFound(p.name, p.dir)
        trash = p.type_dir / f".deleted.{p.dir.name}.{secrets.token_hex(6)}"
        os.rename(p.dir, trash)
        fsync_dir(p.type_dir)
        shutil.rmtree(trash)
        # What a delete killed half-way through left behind.
        for left in p.type_dir.glob(f".deleted.{p.dir.name}.*"):
            shutil.rmtree(left, ignore_errors=True)


def restore_previous(name: str, *, timeout: float | None = None) -> None:
    """Make the previous version of `name` current again.

    The two versions are swapped, so restoring twice gets back where you
    started: nothing is lost, not even a corrupt file.

    Raises:
        InvalidName: the name is malformed.
        LockTimeout: the lock was not taken within `timeout`.
        UnsafeState: a file or folder is writable by others or owned by another user.
        NotFound: there is no previous version.
        CorruptState: the previous version does not unpickle either.
    """
    p = _names.paths(name)
    with held(p.name, timeout):
        data = load_file(p, p.previous, "previous version")
        unpickle(
            p.name,
            p.previous,
            data,
            way_out="nothing was restored and the current version is left as it was",
        )
        atomic_write(p.object, data, previous=p.previous, lock=p.name)
        logger.info("restored the previous version of %s", p.name)
