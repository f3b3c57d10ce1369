"""Append-only logs of pickled records, one per name (`records.log`).

Concurrency contract:
  * Writers (`append`, `compact`) hold the name's lock. An append is one
    frame written in one go at the end of the verified log and fsynced before
    the lock is let go, so the records of one call are all visible or none.
  * Readers (`records`) take no lock. They read from a position to the end
    of the file and stop before a torn or still-being-written last frame;
    the position they return is always the end of a complete frame.
  * `compact` replaces the file atomically (temporary file, rename) with a
    new epoch; a reader's position names its epoch, so a stale position is
    noticed (`LogCompacted`) instead of pointing into different bytes.

The writer keeps, per process, the end offset it last verified for each
(file, epoch): an append costs O(new bytes), re-verifying only frames that
others wrote since, and cutting a torn tail (under the lock) before writing.
Only bytes this process verified itself count (issue 21): a reader that read
the log from its start (or from a checkpoint whose CRC of the log's prefix
it checked, see _checkpoints) extends that offset; a position a caller
passes (`verified=`) never vouches for bytes this process did not check.
Whoever reads a log from its start also checks it against its checkpoint:
a log shorter than its checkpoint, or whose prefix changed, is damage.

What this cannot see: bytes another process damages after this one verified
them. Only a full re-read would; a process reads the whole log (or checks
the checkpoint's CRC) once, when it first opens it.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from typing import Any, NamedTuple, Union

from . import _names
from . import _stand_ins as stand_ins
from ._checkpoint_head import check_log
from ._errors import CorruptState, LockNotCoherent, LogCompacted
from ._files import (
    check_dirs,
    ensure_dirs,
    on_shared_fs,
    open_checked,
    refresh,
    write_all,
)
from ._frames import (
    FILE_HEADER_SIZE,
    FRAME_HEADER_SIZE,
    Damage,
    file_header,
    frame,
    parse_file_header,
    scan,
)
from ._locks import held
from ._names import Paths
from ._objects import dumps
from ._writes import atomic_write, create_new, fence

logger = logging.getLogger(__name__)


class Position(NamedTuple):
    """Where a reader of a log stopped: opaque, pass it back to `records`.

    Attributes:
        epoch: the log's epoch (changes when it is compacted or recreated).
        offset: the byte offset just after the last record read; 0 means the
            start of whatever the log is now.
    """

    epoch: int
    offset: int


START = Position(0, 0)

PositionLike = Union[Position, int]


# (path) -> (st_dev, st_ino, epoch, end): the end of the frames this process
# verified (or wrote) in that file, from its start on. Writers use it under
# the name's lock; readers only extend it (note_verified).
_verified: dict[str, tuple[int, int, int, int]] = {}


def note_verified(p: Paths, st: os.stat_result, epoch: int, start: int, end: int) -> None:
    """Note that this process checked the frames of `p`'s log from `start` to `end`.

    Counts only if it joins what this process verified before (or starts at
    the file's start): the verified part is always a prefix of the file.
    """
    key = str(p.log)
    cached = _verified.get(key)
    if cached is not None and cached[:3] == (st.st_dev, st.st_ino, epoch):
        if start <= cached[3] < end:
            _verified[key] = (st.st_dev, st.st_ino, epoch, end)
    elif start <= FILE_HEADER_SIZE:
        _verified[key] = (st.st_dev, st.st_ino, epoch, end)


def _check_checkpoint(p: Paths, epoch: int, size: int, header: bytes, data: bytes) -> None:
    """A log read from its start (`header` + `data`): raise CorruptState if its checkpoint says it is damaged."""
    check_log(p, epoch, size, lambda n: (header + data[: n - len(header)]) if n >= len(header) else header[:n])


def _start(start: PositionLike) -> Position:
    if isinstance(start, Position):
        return start
    if isinstance(start, tuple) and len(start) == 2:
        return Position(*start)
    if start == 0:
        return START
    raise TypeError(f"a log position is 0 or a Position from records(), not {start!r}")


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _epoch(p: Paths, fd: int) -> int:
    try:
        return parse_file_header(_pread_all(fd, FILE_HEADER_SIZE, 0))
    except Damage as err:
        raise CorruptState(p.name, p.log, err.reason, offset=err.offset) from None


def _new_epoch() -> int:
    return secrets.randbits(63) + 1


def records(name: str, start: PositionLike = 0) -> tuple[list[Any], Position]:
    """The records appended to `name`'s log from `start` on, and where to go on from.

    Takes no lock. Costs O(records since `start`).

    Args:
        name: `type:name`.
        start: 0 for the whole log, or a Position returned by an earlier call.

    Returns:
        (records, position): pass `position` to the next call to get only
        what is new. A log that does not exist yet has no records.

    Raises:
        InvalidName: the name is not `type:name`.
        LogCompacted: the log was compacted or recreated since `start`:
            read again from 0.
        CorruptState: a damaged frame (not a torn last one); `.offset` says where.
        UnsafeState: the file or a folder could have been written by someone else.
    """
    p = _names.paths(name)
    pos = _start(start)
    try:
        check_dirs(p.chain())
        fd, st = open_checked(p.log)
    except FileNotFoundError:
        if pos.offset:
            raise LogCompacted(p.name, pos) from None
        return [], START
    try:
        epoch = _epoch(p, fd)
        if pos.offset and pos.epoch != epoch:
            raise LogCompacted(p.name, pos)
        offset = pos.offset or FILE_HEADER_SIZE
        if offset > st.st_size:
            raise CorruptState(
                p.name, p.log, f"position {offset} is past the end ({st.st_size} bytes)", offset=offset
            )
        # Read to the end of the file as it is now, not as fstat saw it: a
        # frame appended in between is then read whole or cut as torn.
        data = _read_to_end(fd, offset)
    finally:
        os.close(fd)
    try:
        found = scan(data)
    except Damage as err:
        raise CorruptState(p.name, p.log, err.reason, offset=offset + err.offset) from None
    end = offset + found.end
    if offset == FILE_HEADER_SIZE:
        # The whole log: it must agree with its checkpoint (never trust a
        # log a checkpoint says lost its end or changed).
        _check_checkpoint(p, epoch, end, file_header(epoch), data[: found.end])
    note_verified(p, st, epoch, offset, end)
    out: list[Any] = []
    for a, b in found.payloads:
        try:
            # A class of the user's that does not import here is read as a stand-in:
            # readers (listings) never need the user's code (_stand_ins.py).
            out.extend(stand_ins.loads(data[a:b]))
        # A frame that passed its checksums but does not unpickle (a record
        # whose class cannot be rebuilt here) is not damage: stopping at it
        # would make every later record unreadable forever. Readers get a
        # placeholder in its place and keep going.
        except Exception as err:  # unpickling user objects raises many types
            where = offset + a - FRAME_HEADER_SIZE
            reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            logger.warning("%s: skipping a record at byte %d that does not load: %s", p.log, where, reason)
            out.append(UnreadableRecord(where, reason))
    return out, Position(epoch, end)


class UnreadableRecord(NamedTuple):
    """Stands, in what `records` returns, for a frame whose records do not unpickle.

    Attributes:
        offset: the byte offset of the frame in the log.
        reason: why it does not load (the exception, one line).
    """

    offset: int
    reason: str


def _read_to_end(fd: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _open_verified(p: Paths) -> tuple[int, int, int]:
    """Open `name`'s log for writing (creating it), verified to its end.

    Cuts a torn tail. The caller holds the lock. Verification starts where
    this process last verified the file (`_verified`), else at its start,
    and then checks the log against its checkpoint (a caller's position,
    append's `verified`, is not used: it could vouch for bytes nobody here read).

    Returns:
        (fd, epoch, end): end is where the next frame goes.
    """
    try:
        fd, st = open_checked(p.log, os.O_RDWR)
    except FileNotFoundError:
        ensure_dirs((p.root, p.type_dir, p.dir))
        # Created through a link of a complete file, so a log never lacks its
        # header, and never replaces one another host created meanwhile.
        create_new(p.log, file_header(_new_epoch()), lock=p.name)
        fd, st = open_checked(p.log, os.O_RDWR)
    try:
        epoch = _epoch(p, fd)
        key = str(p.log)
        cached = _verified.get(key)
        if cached is not None and cached[:3] == (st.st_dev, st.st_ino, epoch) and cached[3] <= st.st_size:
            # Bytes this process checked itself (`verified`, a caller's
            # position, is not enough: issue 21, a checkpoint's position
            # vouched for bytes nobody here had read).
            start = cached[3]
        else:
            start = FILE_HEADER_SIZE
        # Read to the end of the file, not to st_size: an attribute cache (FUSE
        # attr_timeout, NFS actimeo) may report a stale size, and a read past
        # it makes the kernel ask the server.
        data = _read_to_end(fd, start)
        end = start
        if data:
            try:
                found = scan(data)
            except Damage as err:
                raise CorruptState(p.name, p.log, err.reason, offset=start + err.offset) from None
            end = start + found.end
            if start == FILE_HEADER_SIZE:
                _check_checkpoint(p, epoch, end, file_header(epoch), data[: found.end])
            if found.torn is not None:
                _cut_torn_tail(p, fd, end, data[found.end :], found.torn)
        elif start == FILE_HEADER_SIZE:
            _check_checkpoint(p, epoch, end, file_header(epoch), b"")
        _verified[key] = (st.st_dev, st.st_ino, epoch, end)
        return fd, epoch, end
    except BaseException:
        os.close(fd)
        raise


# How long a torn tail must stay unchanged before it is cut: a writer that is
# still writing its frame (possible only where locks do not exclude) shows
# within this time; a killed writer's tail never changes.
QUIET_SECONDS = 0.05


def _cut_torn_tail(p: Paths, fd: int, end: int, tail: bytes, why: str) -> None:
    """Cut the torn tail after `end`, once it is proven to be nobody's write in progress.

    We hold the lock; a frame is written in one go by a holder that passed
    its fence. So a tail that does not change while we watch, and a lock
    that is still ours afterwards, is what a killed writer left.
    """
    time.sleep(QUIET_SECONDS)
    refresh(fd, p.log)
    if _read_to_end(fd, end) != tail:
        raise LockNotCoherent(
            p.name, p.log, "another process is appending to it under this process's lock"
        )
    fence(p.name, p.log)
    logger.warning("cutting a torn last frame off %s at byte %d: %s", p.log, end, why)
    os.ftruncate(fd, end)
    os.fsync(fd)


def _check_end(p: Paths, fd: int, end: int) -> None:
    """Just before writing at `end`: still ours, and nobody wrote past `end`."""
    fence(p.name, p.log)
    refresh(fd, p.log)
    if os.pread(fd, 1, end):
        raise LockNotCoherent(
            p.name, p.log, "another process appended to it since this one read it under the lock"
        )


def append(
    name: str,
    *records: Any,
    timeout: float | None = None,
    verified: PositionLike | None = None,
    durable: bool = True,
) -> Position:
    """Append records to `name`'s log, in one frame: all visible or none.

    Written under the lock in one write at the end of the log, then fsynced.

    Args:
        name: `type:name`.
        *records: picklable objects.
        timeout: seconds to wait for the lock (None: forever).
        verified: kept for callers that pass the position they read up to;
            it vouches for nothing: only the bytes this process itself
            verified (read through `records`, from the start or from a
            checkpoint it checked, or wrote) are not verified again. A
            process that has not read the log verifies it whole (and
            against its checkpoint) the first time it appends to it.
        durable: fsync before the lock is let go (the default). False, for
            records that a power failure may undo but every process must
            see at once (a session's claims): on a local filesystem the
            fsync is left to the next durable append, and since an fsync
            writes the whole file, a power failure then loses the log's last
            records, never a record in the middle. On a shared filesystem
            the records are fsynced anyway: that is what shows them to the
            other hosts.

    Returns:
        The position just after these records.

    Raises:
        InvalidName: the name is malformed.
        LockTimeout: the lock was not taken within `timeout`.
        CorruptState: the log is damaged before its end (nothing is written).
    """
    p = _names.paths(name)
    data = frame(dumps(records, p.name)) if records else b""
    with held(p.name, timeout):
        fd, epoch, end = _open_verified(p)
        key = str(p.log)
        try:
            if data:
                # Forget the verified end first: if this write fails half-way,
                # the next append must look at (and cut) what it left.
                cached = _verified.pop(key)
                _check_end(p, fd, end)
                write_all(fd, data, end)
                if durable or on_shared_fs(p.log):
                    os.fsync(fd)
                end += len(data)
                _verified[key] = (*cached[:3], end)
        finally:
            os.close(fd)
    return Position(epoch, end)


def compact(
    name: str, snapshot: Any, upto: PositionLike | None = None, *, timeout: float | None = None
) -> Position:
    """Replace the records before `upto` with one record, `snapshot`, atomically.

    The records appended after `upto` are kept after the snapshot. The log
    gets a new epoch, so readers holding an older position get LogCompacted.

    Args:
        name: `type:name`.
        snapshot: the record that stands for the records before `upto`.
        upto: a Position from `records` (None: the whole log; 0: nothing,
            the snapshot goes first).
        timeout: seconds to wait for the lock (None: forever).

    Returns:
        The position just after the snapshot: reading on from it gives the
        records that were kept.

    Raises:
        InvalidName: the name is malformed.
        LockTimeout: the lock was not taken within `timeout`.
        CorruptState: the log is damaged.
        LogCompacted: `upto` is from an older epoch of the log.
    """
    p = _names.paths(name)
    head = frame(dumps((snapshot,)))
    with held(p.name, timeout):
        fd, epoch, end = _open_verified(p)
        try:
            if upto is None:
                keep_from = end
            else:
                pos = _start(upto)
                if pos.offset == 0:
                    keep_from = FILE_HEADER_SIZE
                elif pos.epoch != epoch:
                    raise LogCompacted(p.name, pos)
                elif pos.offset > end:
                    raise ValueError(f"position {pos} is past the end of the log of {p.name!r}")
                else:
                    keep_from = pos.offset
            kept = _pread_all(fd, end - keep_from, keep_from)
            new_epoch = _new_epoch()
            _check_end(p, fd, end)
            atomic_write(p.log, file_header(new_epoch) + head + kept, lock=p.name)
        finally:
            os.close(fd)
        st = os.stat(p.log)
        _verified[str(p.log)] = (st.st_dev, st.st_ino, new_epoch, st.st_size)
    return Position(new_epoch, FILE_HEADER_SIZE + len(head))
