"""Salvage a damaged log: keep every frame that can still be read.

`find_frames` is pure (bytes in, a plan out); `salvage` applies it to a name's
`records.log` under the lock. A reader stops at the first damaged frame and
raises `CorruptState` (it never skips data); salvage is the deliberate, by
hand, way past it:

  * every valid frame before the damage is kept;
  * after a damaged frame the walk finds the next one again: first where a
    damaged frame's own (checksummed) header says it ends, else by trying
    every later offset for a frame whose header passes its checksum, whose
    payload passes its checksum and unpickles to a tuple of records;
  * the kept frames are written as a new log (same format, new epoch), after
    the damaged file is hard-linked aside as `records.log.damaged.<UTC time>`.

A log that does not match its checkpoint (shorter than the checkpoint's
position, or its first bytes changed: see _checkpoints) is damaged too. Given
`snapshot` (a function making, from the checkpoint's value, the record that
stands for every record before its position: a session's `Snapshot`),
salvage recovers from the checkpoint what the log lost: the new log is that
record, then every readable frame after the checkpoint's position. Without
it (or without a checkpoint that loads), it keeps the frames as above and
moves the checkpoint aside (`checkpoint.pickle.damaged.<UTC time>`), since
it no longer stands for the log.

A torn last frame (a killed writer's) is not damage, as for readers: the next
append cuts it. A record that itself holds the bytes of a whole log frame
could be taken for a frame when the header of the frame around it is damaged
too (with a sound header, the walk goes on where that header says).
"""

from __future__ import annotations

import errno
import os
import pickle
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _checkpoint_head, _checkpoints, _log, _names
from ._errors import NotFound, StateError
from ._files import check_dirs, fsync_dir, read_stamped
from ._frames import (
    _FRAME_HEADER,
    FILE_HEADER_SIZE,
    FRAME_HEADER_SIZE,
    Damage,
    file_header,
    frame,
    parse_file_header,
    scan,
)
from ._locks import held
from ._objects import dumps
from ._writes import atomic_write, write_temp

ASIDE_PREFIX = _names.LOG_FILE + ".damaged."

Loads = Callable[[bytes], Any]


class MissingCode(Exception):
    """A frame passes its checksums but a record needs code that is not installed (internal).

    Not damage: salvage stops and changes nothing.
    """

    def __init__(self, offset: int, error: BaseException) -> None:
        super().__init__(offset, error)
        self.offset = offset
        self.error = error


class SalvageNeedsCode(StateError):
    """Salvage stopped: a record of the log needs code that is not installed.

    Nothing was changed. Install the code the records need (the package that
    wrote them) and run salvage again.

    Attributes:
        name: the `type:name`.
        path: the log.
        offset: the frame whose records need the code.
        reason: the import error.
    """

    def __init__(self, name: str, path: Path, offset: int, reason: str) -> None:
        super().__init__(
            f"{path} was not salvaged: the records at byte {offset} need code that is not "
            f"installed ({reason}); install it and run salvage again"
        )
        self.name = name
        self.path = path
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True)
class Kept:
    """A frame that is kept.

    Attributes:
        start: its offset in the old file (its header).
        end: the offset just after its payload.
        records: how many records it holds.
    """

    start: int
    end: int
    records: int


@dataclass(frozen=True)
class Skipped:
    """A range of bytes that is dropped.

    Attributes:
        start: its first byte in the old file.
        end: just after its last byte.
        reason: why the bytes at `start` are not a frame.
    """

    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Plan:
    """What salvage keeps of one log file and what it drops.

    Attributes:
        epoch: the file's epoch, or None if its file header is damaged.
        frames: the frames kept, in order.
        before: how many of `frames` come before the first damage (all of
            them when there is none).
        skipped: the byte ranges dropped; empty when there is no damage.
        torn: when there is no damage, why the bytes after the last frame
            are a torn tail (which the next append cuts), or None.
    """

    epoch: int | None
    frames: tuple[Kept, ...]
    before: int
    skipped: tuple[Skipped, ...]
    torn: str | None

    @property
    def damaged(self) -> bool:
        """Whether anything but a torn tail fails to read."""
        return bool(self.skipped)

    @property
    def records_before(self) -> int:
        """How many records the frames kept before the damage hold."""
        return sum(f.records for f in self.frames[: self.before])

    @property
    def records_after(self) -> int:
        """How many records the frames recovered after the damage hold."""
        return sum(f.records for f in self.frames[self.before :])


def check_frame(buf: bytes, pos: int, loads: Loads = pickle.loads) -> Kept | str:
    """The frame at `pos` if it is whole and readable, else why not.

    Readable: its header passes its checksum, it ends within `buf`, its
    payload passes its checksum and unpickles to a tuple (an append's records).

    Raises:
        MissingCode: `loads` raised ImportError or AttributeError (a module or
            class is missing): not damage.
    """
    n = len(buf)
    if n - pos < FRAME_HEADER_SIZE:
        return f"{n - pos} bytes, less than a frame header"
    view = memoryview(buf)
    length, payload_crc, header_crc = _FRAME_HEADER.unpack_from(buf, pos)
    if zlib.crc32(view[pos : pos + 12]) != header_crc:
        return "frame header fails its checksum"
    start = pos + FRAME_HEADER_SIZE
    end = start + length
    if end > n:
        return f"a frame of {length} bytes runs past the end of the file"
    if zlib.crc32(view[start:end]) != payload_crc:
        return "frame fails its checksum"
    try:
        records = loads(buf[start:end])
    except (ImportError, AttributeError) as err:
        raise MissingCode(pos, err) from err
    except Exception as err:  # noqa: BLE001 - any failure to unpickle is damage here
        return f"frame does not unpickle ({type(err).__name__}: {err})"
    if not isinstance(records, tuple):
        return f"frame holds a {type(records).__name__}, not a tuple of records"
    return Kept(pos, end, len(records))


def next_frame(buf: bytes, start: int, loads: Loads = pickle.loads) -> Kept | None:
    """The first readable frame (see check_frame) at an offset >= `start`, or None.

    Raises:
        MissingCode: see check_frame.
    """
    n = len(buf)
    last = n - FRAME_HEADER_SIZE
    # A frame's length fits in the file, so the high bytes of its u64 length
    # field are zero: look only where they are (bytes.find runs in C), not
    # at every offset in Python.
    zeros = 8 - (max(n, 1).bit_length() + 7) // 8
    candidates: Iterable[int]
    if zeros <= 0:
        candidates = range(start, last + 1)
    else:
        candidates = _with_zeros(buf, start, last, b"\x00" * zeros, 8 - zeros)
    for pos in candidates:
        found = check_frame(buf, pos, loads)
        if isinstance(found, Kept):
            return found
    return None


_ZERO_HEADER = bytes(FRAME_HEADER_SIZE)
_NONZERO = re.compile(rb"[^\x00]")


def _with_zeros(buf: bytes, start: int, last: int, zeros: bytes, at: int) -> Iterator[int]:
    """The offsets from `start` to `last` where `buf[pos + at :]` starts with `zeros`.

    Leaves out offsets whose whole header would be zero bytes: such a header
    fails its checksum, and a run of zeros (a zero-filled tail, a pickled
    array of zeros) would otherwise yield every offset in it.
    """
    i = buf.find(zeros, start + at)
    while i != -1 and i - at <= last:
        pos = i - at
        if buf.startswith(_ZERO_HEADER, pos):
            found = _NONZERO.search(buf, pos)
            run_end = len(buf) if found is None else found.start()
            i = max(i + 1, run_end - FRAME_HEADER_SIZE + 1 + at)
            i = buf.find(zeros, i)
            continue
        yield pos
        i = buf.find(zeros, i + 1)


def find_frames(buf: bytes, loads: Loads = pickle.loads) -> Plan:
    """What can be kept of the log file whose bytes are `buf`.

    Agrees with readers: when `scan` finds damage, the plan is damaged and
    its first skipped range starts at the offset `CorruptState` reports; when
    the plan is not damaged, its frames are the ones readers read.

    Args:
        buf: the whole file, file header included.
        loads: unpickles a payload (a frame must unpickle to be kept).

    Raises:
        MissingCode: a record needs code that is not installed.
    """
    n = len(buf)
    frames: list[Kept] = []
    skipped: list[Skipped] = []
    before: int | None = None
    torn = None
    try:
        epoch: int | None = parse_file_header(buf)
        pos = FILE_HEADER_SIZE
    except Damage as err:
        # Look for frames from the very start: the damage may be a cut that
        # moved them.
        epoch, before = None, 0
        found = next_frame(buf, 0, loads)
        pos = n if found is None else found.start
        skipped.append(Skipped(0, pos, err.reason))
    while pos < n:
        here = check_frame(buf, pos, loads)
        if isinstance(here, Kept):
            frames.append(here)
            pos = here.end
            continue
        found = _resync(buf, pos, loads)
        if found is None and not skipped:
            torn = _torn(buf, pos)
            if torn is not None:
                break
        if before is None:
            before = len(frames)
        end = n if found is None else found.start
        skipped.append(Skipped(pos, end, here))
        pos = end
    return Plan(epoch, tuple(frames), len(frames) if before is None else before, tuple(skipped), torn)


def _resync(buf: bytes, pos: int, loads: Loads) -> Kept | None:
    """The next readable frame after the unreadable one at `pos`, or None."""
    if len(buf) - pos >= FRAME_HEADER_SIZE:
        length, _, header_crc = _FRAME_HEADER.unpack_from(buf, pos)
        if zlib.crc32(memoryview(buf)[pos : pos + 12]) == header_crc:
            # Its header is sound, so it says where the next frame starts;
            # trust that before a byte-by-byte search, which could stop on a
            # frame-like record inside this frame's payload.
            end = pos + FRAME_HEADER_SIZE + length
            if end < len(buf):
                found = check_frame(buf, end, loads)
                if isinstance(found, Kept):
                    return found
    return next_frame(buf, pos + 1, loads)


def _torn(buf: bytes, pos: int) -> str | None:
    """Why the bytes from `pos` on are a torn tail for readers, or None if they are damage."""
    try:
        found = scan(buf[pos:])
    except Damage:
        return None
    # A frame that passes its checksums yet does not unpickle is no torn tail.
    return found.torn if found.end == 0 else None


@dataclass(frozen=True)
class Report:
    """What `salvage` did to a name's log.

    Attributes:
        name: the `type:name`.
        path: the log.
        plan: what was kept and what was dropped (of the bytes after the
            checkpoint's position when `from_checkpoint` is set).
        checkpoint: why the log does not match its checkpoint, or None.
        from_checkpoint: the checkpoint's position, when the new log starts
            with the record made from it (then `plan` is of what followed).
        checkpoint_aside: where the checkpoint was moved when it could not
            be used.
        size: the size of the log as found.
        aside: where the damaged file was kept, or None when nothing changed.
        new_size: the size of the new log (None when nothing changed).
    """

    name: str
    path: Path
    plan: Plan
    size: int
    aside: Path | None
    new_size: int | None
    checkpoint: str | None = None
    from_checkpoint: int | None = None
    checkpoint_aside: Path | None = None

    @property
    def damaged(self) -> bool:
        """Whether the log was damaged (and so rewritten)."""
        return self.plan.damaged or self.checkpoint is not None


def salvage(name: str, *, timeout: float | None = None, snapshot: Callable[[Any], Any] | None = None) -> Report:
    """Rewrite `name`'s damaged log with every frame that can still be read.

    Under the lock: reads the log; if it is damaged, hard-links it aside as
    `records.log.damaged.<UTC time>` (then fsyncs the folder), and replaces
    it atomically with the kept frames under a new epoch (readers holding a
    position get LogCompacted). A crash at any point leaves the damaged log
    in place, or the new log and the copy aside. A log without damage is
    left as it is. A log that does not match its checkpoint is damaged: see
    the module's docstring for `snapshot`.

    Raises:
        InvalidName: the name is malformed.
        LockTimeout: the lock was not taken within `timeout`.
        UnsafeState: a file or folder is writable by others or owned by another user.
        NotFound: the name has no log.
        LockNotCoherent: another process wrote the log under our lock
            (nothing was replaced).
        SalvageNeedsCode: a record needs code that is not installed (nothing
            was changed).
    """
    p = _names.paths(name)
    with held(p.name, timeout):
        try:
            check_dirs(p.chain())
            data, stamp = read_stamped(p.log)
        except FileNotFoundError:
            raise NotFound(p.name, p.log, what="log", way_out="nothing to salvage") from None
        try:
            plan = find_frames(data)
        except MissingCode as err:
            reason = f"{type(err.error).__name__}: {err.error}"
            raise SalvageNeedsCode(p.name, p.log, err.offset, reason) from None
        found = _checkpoints.read_checkpoint(p.name)
        head = None if found is None else found[0]
        problem = None
        if head is not None and plan.epoch is not None and head.position.epoch == plan.epoch:
            n = head.position.offset
            problem = _checkpoint_head.damage(head, plan.epoch, len(data), data[:n] if len(data) >= n else None)
        if not plan.damaged and problem is None:
            return Report(p.name, p.log, plan, len(data), None, None)
        why: str | None = None if problem is None else problem[0]
        checkpoint_aside = None
        from_checkpoint = None
        if (
            found is not None
            and snapshot is not None
            and head is not None
            and head.position.epoch == plan.epoch  # (a damaged file header: no epoch to match)
            and (problem is not None or (plan.skipped and plan.skipped[0].start < head.position.offset))
        ):
            record = snapshot(found[1])
        else:
            record = None
        if record is not None and head is not None:
            # The checkpoint stands for the log up to its position: the new
            # log is its record, then whatever can be read after it.
            from_checkpoint = head.position.offset
            rest = file_header(head.position.epoch) + data[from_checkpoint:]
            plan = find_frames(rest)
            body = frame(dumps((record,))) + b"".join(rest[f.start : f.end] for f in plan.frames)
            if why is None:
                why = "damaged before its checkpoint's position"
        else:
            body = b"".join(data[f.start : f.end] for f in plan.frames)
        new = file_header(_log._new_epoch()) + body
        aside = _keep_aside(p.log, data)
        # Refused (LockNotCoherent) if the log changed since we read it: then
        # it stays as it was, beside its copy.
        atomic_write(p.log, new, lock=p.name, expect=(stamp, data))
        # This process must verify the new file before its next append.
        _log._verified.pop(str(p.log), None)
        if problem is not None and from_checkpoint is None:
            # It does not stand for this log any more, nor for the new one.
            checkpoint_aside = _move_checkpoint_aside(p)
    return Report(
        p.name, p.log, plan, len(data), aside, len(new), why, from_checkpoint, checkpoint_aside
    )


def _move_checkpoint_aside(p: _names.Paths) -> Path | None:
    path = p.dir / _checkpoint_head.CHECKPOINT_FILE
    aside = path.with_name(path.name + ".damaged." + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    fsync_dir(p.dir)
    return aside


def _keep_aside(log: Path, data: bytes) -> Path:
    """Keep the damaged log as `records.log.damaged.<UTC time>` beside it, durably.

    A hard link (the very file, no copy); a copy of `data` where the
    filesystem has none. Never a rename: until the new log replaces it, the
    damaged one stays where it is.
    """
    base = ASIDE_PREFIX + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for i in range(1, 1000):
        aside = log.with_name(base if i == 1 else f"{base}-{i}")
        try:
            os.link(log, aside)
        except FileExistsError:
            continue
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(aside):
                continue
            os.replace(write_temp(aside, data), aside)
        # Durable before the log is replaced, so no crash loses both.
        fsync_dir(log.parent)
        return aside
    raise FileExistsError(f"too many damaged copies of {log} beside it")
