"""Checkpoints: a value that stands for a name's log up to a position, kept beside it.

A reader of a long log (a session of 100,000 trials) would replay every
record; a checkpoint lets it load the value the records up to some position
reduce to, and read on from that position. Unlike `compact`, writing one
neither rewrites the log nor takes the name's lock, and readers holding a
position are not disturbed.

File `<root>/<type>/<name>/checkpoint.pickle`:

    pickle((FORMAT, position, info, length, crc32, log_crc32))  then  `length` bytes: pickle(value)

`info` is a small value of the writer's choosing (a session's summary) that
`checkpoint_info` reads without the big value. The file is replaced
atomically (temporary file, rename); of two writers the last one wins, and
both wrote a valid checkpoint. A checkpoint whose bytes do not pass their
checksum or do not load is ignored (None): it is only a cache. A position
from an older epoch of the log (compacted or recreated since) is ignored too
(the log was replaced on purpose), and so is a checkpoint of an older FORMAT
(before 2 it had no `log_crc32`: the reader replays).

A checkpoint never vouches for damaged bytes (issue 21). `log_crc32` is the
CRC32 of the log's first `position.offset` bytes, computed when the
checkpoint is written, after the writer fsynced the log and checked every
frame of that prefix. Whoever uses a checkpoint (`load_checkpoint`,
`checkpoint_info`, a reader or writer reading the log from its start) first
checks the log against it: a log shorter than the position, or whose prefix
does not match the CRC, is damage (`CorruptState`, which names salvage),
never a stale cache. Since the log was fsynced before the checkpoint was
written, a power failure cannot leave it shorter than its checkpoint.
"""

from __future__ import annotations

import logging
import os
import pickle
import zlib
from typing import Any

from . import _names
from ._checkpoint_head import (
    CHECKPOINT_FILE,
    FORMAT,
    Head,
    corrupt,
    damage,
    open_checkpoint,
    parse_head,
    prefix_crc,
    read_upto,
)
from ._errors import CorruptState, LogCompacted
from ._files import check_dirs, open_checked
from ._frames import FILE_HEADER_SIZE, Damage, parse_file_header, scan
from ._log import Position, note_verified
from ._names import Paths
from ._objects import dumps
from ._writes import atomic_write

logger = logging.getLogger(__name__)


def save_checkpoint(name: str, value: Any, position: Any, info: Any = None) -> None:
    """Write the checkpoint of `name`: `value` stands for its log up to `position`.

    Takes no lock (the file is replaced atomically). Reads the log up to
    `position` once: it fsyncs it, checks every frame's checksums and keeps
    the CRC32 of those bytes in the checkpoint's head.

    Args:
        name: `type:name`.
        value: what the records before `position` reduce to.
        position: a Position from `records` (or `append`).
        info: a small value `checkpoint_info` returns without loading `value`.

    Raises:
        CorruptState: the log is damaged before `position` (nothing written).
        LogCompacted: the log is not of `position`'s epoch any more.
    """
    p = _names.paths(name)
    pos = Position(*position)
    log_crc = _prefix_crc(p, pos)
    body = dumps(value)
    head = dumps((FORMAT, tuple(pos), info, len(body), zlib.crc32(body), log_crc))
    check_dirs(p.chain())
    atomic_write(p.dir / CHECKPOINT_FILE, head + body)


def _prefix_crc(p: Paths, pos: Position) -> int:
    """The CRC32 of the log's first `pos.offset` bytes, once they are durable and every frame checked."""
    check_dirs(p.chain())
    fd, _ = open_checked(p.log)
    try:
        # Durable before the checkpoint that vouches for them: a power failure
        # must not leave the log shorter than its checkpoint (claims are
        # appended without an fsync, see append's `durable`).
        os.fsync(fd)
        data = read_upto(fd, pos.offset)
    finally:
        os.close(fd)
    try:
        epoch = parse_file_header(data)
    except Damage as err:
        raise CorruptState(p.name, p.log, err.reason, offset=err.offset) from None
    if epoch != pos.epoch:
        raise LogCompacted(p.name, pos)
    if len(data) < pos.offset:
        why = f"it is {len(data)} bytes, shorter than position {pos.offset}"
        raise CorruptState(p.name, p.log, why, offset=len(data))
    try:
        found = scan(data[FILE_HEADER_SIZE:])
    except Damage as err:
        raise CorruptState(p.name, p.log, err.reason, offset=FILE_HEADER_SIZE + err.offset) from None
    if found.torn is not None:
        raise ValueError(f"position {pos.offset} of {p.name!r} is not the end of a frame")
    return zlib.crc32(data)


def _head_and_body(p: Paths) -> tuple[Head, bytes | None] | None:
    """The checkpoint's head and its pickled value (None if that fails its checksum); None without a head."""
    f = open_checkpoint(p)
    if f is None:
        return None
    with f:
        head = parse_head(f, f.name)
        if head is None:
            return None
        body = f.read(head.length + 1)
    if len(body) != head.length or zlib.crc32(body) != head.crc:
        return head, None
    return head, body


def read_checkpoint(name: str) -> tuple[Head, Any] | None:
    """`name`'s checkpoint (head, value), its own checksum checked but not the log (internal, for salvage).

    None without one that loads.
    """
    found = _head_and_body(_names.paths(name))
    if found is None:
        return None
    head, body = found
    if body is None:
        return None
    try:
        return head, pickle.loads(body)
    except Exception:  # noqa: BLE001 - a value that does not load here is no help
        return None


def _verify(p: Paths, head: Head) -> bool:
    """Check the log against `head`; True if it is of its epoch (and sound), False if not.

    Raises:
        CorruptState: the log is shorter than the checkpoint, or its prefix changed.
    """
    try:
        check_dirs(p.chain())
        fd, st = open_checked(p.log)
    except FileNotFoundError:
        raise corrupt(p, "the log is missing but its checkpoint is there", 0) from None
    try:
        try:
            epoch = parse_file_header(os.pread(fd, FILE_HEADER_SIZE, 0))
        except Damage as err:
            raise CorruptState(p.name, p.log, err.reason, offset=err.offset) from None
        if epoch != head.position.epoch:
            return False
        n = head.position.offset
        # The common case reads the prefix in pieces into one buffer (no
        # copy of the whole) and only checksums it.
        crc, got = prefix_crc(fd, n)
        if got != n or crc != head.log_crc:
            prefix = read_upto(fd, n)
            found = damage(head, epoch, max(st.st_size, len(prefix)), prefix if len(prefix) == n else None)
            if found is not None:
                raise corrupt(p, *found)
        # This process has now read (and checked) the log up to the checkpoint.
        note_verified(p, st, epoch, 0, n)
        return True
    finally:
        os.close(fd)


def checkpoint_info(name: str) -> tuple[Position, Any] | None:
    """(position, info) of `name`'s checkpoint, reading its head and checking the log against it.

    None without a checkpoint, or with one of another epoch or format.

    Raises:
        CorruptState: the log is shorter than the checkpoint, or its first
            bytes changed since it was written (see the module's docstring).
    """
    p = _names.paths(name)
    f = open_checkpoint(p)
    if f is None:
        return None
    with f:
        head = parse_head(f, f.name)
    if head is None or not _verify(p, head):
        return None
    return Position(*head.position), head.info


def load_checkpoint(name: str) -> tuple[Any, Position, Any] | None:
    """(value, position, info) of `name`'s checkpoint; None without a sound one of the log's epoch.

    The log is checked against it first (once per call; see the module's
    docstring): then this process knows the log is sound up to `position`.

    Raises:
        CorruptState: the log is shorter than the checkpoint, or its first
            bytes changed since it was written.
    """
    p = _names.paths(name)
    found = _head_and_body(p)
    if found is None:
        return None
    head, body = found
    if body is None:
        logger.warning("ignoring the checkpoint of %s: it does not pass its checksum", name)
        return None
    if not _verify(p, head):
        return None
    try:
        value = pickle.loads(body)
    except Exception as err:  # noqa: BLE001 - a value that does not load here: replay instead
        logger.warning("ignoring the checkpoint of %s: %s", name, err)
        return None
    return value, Position(*head.position), head.info


def log_end(name: str) -> Position | None:
    """Where `name`'s log ends now (epoch, size), without reading its records; None without a log.

    Equal to the position a reader reaching the end gets, unless the last
    frame is torn or still being written.
    """
    p = _names.paths(name)
    try:
        check_dirs(p.chain())
        fd, st = open_checked(p.log)
    except FileNotFoundError:
        return None
    try:
        try:
            epoch = parse_file_header(os.pread(fd, FILE_HEADER_SIZE, 0))
        except Damage:
            return None
        return Position(epoch, st.st_size)
    finally:
        os.close(fd)
