"""Checkpoints: a value that stands for a name's log up to a position, kept beside it.

A reader of a long log (a session of 100,000 trials) would replay every
record; a checkpoint lets it load the value the records up to some position
reduce to, and read on from that position. Unlike `compact`, writing one
neither rewrites the log nor takes the name's lock, and readers holding a
position are not disturbed.

File `<root>/<type>/<name>/checkpoint.pickle`:

    pickle((FORMAT, position, info, length, crc32))  then  `length` bytes: pickle(value)

`info` is a small value of the writer's choosing (a session's summary) that
`checkpoint_info` reads without the big value. The file is replaced
atomically (temporary file, rename); of two writers the last one wins, and
both wrote a valid checkpoint. A checkpoint whose bytes do not pass their
checksum or do not load is ignored (None), never an error: it is only a
cache. A position from an older epoch of the log (compacted or recreated
since) makes `records` raise `LogCompacted`: the reader then replays from 0.
"""

from __future__ import annotations

import logging
import os
import pickle
import stat
import zlib
from typing import Any

from . import _names
from ._errors import UnsafeState
from ._files import check_dirs, check_safe, open_nofollow, refresh
from ._frames import FILE_HEADER_SIZE, Damage, parse_file_header
from ._log import Position
from ._objects import dumps
from ._writes import atomic_write

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pickle"
FORMAT = 1


def save_checkpoint(name: str, value: Any, position: Any, info: Any = None) -> None:
    """Write the checkpoint of `name`: `value` stands for its log up to `position`.

    Takes no lock (the file is replaced atomically).

    Args:
        name: `type:name`.
        value: what the records before `position` reduce to.
        position: a Position from `records` (or `append`).
        info: a small value `checkpoint_info` returns without loading `value`.
    """
    p = _names.paths(name)
    body = dumps(value)
    head = dumps((FORMAT, tuple(Position(*position)), info, len(body), zlib.crc32(body)))
    check_dirs(p.chain())
    atomic_write(p.dir / CHECKPOINT_FILE, head + body)


def _open(name: str) -> Any:
    p = _names.paths(name)
    path = p.dir / CHECKPOINT_FILE
    try:
        check_dirs(p.chain())
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        refresh(fd, path)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeState(path, "not a plain file", f"move it aside: {path}")
        check_safe(path, st)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _head(f: Any, path: Any) -> tuple[Position, Any, int, int] | None:
    try:
        fmt, position, info, length, crc = pickle.load(f)
    except Exception as err:  # noqa: BLE001 - a damaged cache is ignored, not fatal
        logger.warning("ignoring the checkpoint %s: %s", path, err)
        return None
    if fmt != FORMAT:
        return None
    return Position(*position), info, length, crc


def checkpoint_info(name: str) -> tuple[Position, Any] | None:
    """(position, info) of `name`'s checkpoint, reading only its head; None without one."""
    f = _open(name)
    if f is None:
        return None
    with f:
        head = _head(f, f.name)
    return None if head is None else head[:2]


def load_checkpoint(name: str) -> tuple[Any, Position, Any] | None:
    """(value, position, info) of `name`'s checkpoint; None without a sound one."""
    f = _open(name)
    if f is None:
        return None
    with f:
        head = _head(f, f.name)
        if head is None:
            return None
        position, info, length, crc = head
        body = f.read(length + 1)
    if len(body) != length or zlib.crc32(body) != crc:
        logger.warning("ignoring the checkpoint of %s: it does not pass its checksum", name)
        return None
    try:
        value = pickle.loads(body)
    except Exception as err:  # noqa: BLE001 - a value that does not load here: replay instead
        logger.warning("ignoring the checkpoint of %s: %s", name, err)
        return None
    return value, position, info


def log_end(name: str) -> Position | None:
    """Where `name`'s log ends now (epoch, size), without reading its records; None without a log.

    Equal to the position a reader reaching the end gets, unless the last
    frame is torn or still being written.
    """
    p = _names.paths(name)
    try:
        check_dirs(p.chain())
        fd = open_nofollow(p.log, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        refresh(fd, p.log)
        st = os.fstat(fd)
        check_safe(p.log, st)
        try:
            epoch = parse_file_header(os.pread(fd, FILE_HEADER_SIZE, 0))
        except Damage:
            return None
        return Position(epoch, st.st_size)
    finally:
        os.close(fd)
