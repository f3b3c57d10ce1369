"""A checkpoint file's head, and the check of a log against it (see _checkpoints).

Apart from _checkpoints, which imports _log, so that the log's readers and
writers (_log) check a log against its checkpoint without an import cycle.
"""

from __future__ import annotations

import logging
import os
import pickle
import zlib
from typing import Any, NamedTuple

from ._errors import SALVAGE_COMMAND, CorruptState
from ._files import check_dirs, open_checked
from ._frames import FILE_HEADER_SIZE, Damage, scan
from ._names import Paths

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pickle"
FORMAT = 2  # 1: no log_crc32 (ignored since)


class At(NamedTuple):
    """A log position (as _log.Position, which this module cannot import)."""

    epoch: int
    offset: int


def read_upto(fd: int, size: int) -> bytes:
    """The first `size` bytes of `fd` (fewer if the file is shorter)."""
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(size - offset, 1 << 24), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def prefix_crc(fd: int, size: int) -> tuple[int, int]:
    """(CRC32 of the first `size` bytes of `fd`, how many there were)."""
    buf = bytearray(min(size, 1 << 20))
    view = memoryview(buf)
    crc = 0
    offset = 0
    while offset < size:
        want = min(size - offset, len(buf))
        got = os.preadv(fd, [view[:want]], offset)
        if not got:
            break
        crc = zlib.crc32(view[:got], crc)
        offset += got
    return crc, offset


def open_checkpoint(p: Paths) -> Any:
    """`p`'s checkpoint file open for reading (checked as every stored file is); None without one."""
    path = p.dir / CHECKPOINT_FILE
    try:
        check_dirs(p.chain())
        fd, _ = open_checked(path)
    except FileNotFoundError:
        return None
    return os.fdopen(fd, "rb")


class Head(NamedTuple):
    """A checkpoint's head: the log position it stands for, the writer's info, the checksums."""

    position: At
    info: Any
    length: int
    crc: int
    log_crc: int


def parse_head(f: Any, path: Any) -> Head | None:
    """The head at the start of open checkpoint file `f`; None if it is damaged or of another FORMAT."""
    try:
        found = pickle.load(f)
    except Exception as err:  # noqa: BLE001 - a damaged cache is ignored, not fatal
        logger.warning("ignoring the checkpoint %s: %s", path, err)
        return None
    if not isinstance(found, tuple) or not found or found[0] != FORMAT or len(found) != 6:
        logger.debug("ignoring the checkpoint %s: not of format %d", path, FORMAT)
        return None
    _, position, info, length, crc, log_crc = found
    return Head(At(*position), info, length, crc, log_crc)


def damage(head: Head, epoch: int, size: int, prefix: bytes | None) -> tuple[str, int | None] | None:
    """What is wrong with a log of `epoch` and `size` bytes against checkpoint `head`, or None.

    `prefix`: the log's first `head.position.offset` bytes (None when the log
    is shorter). A checkpoint of another epoch says nothing about this log.

    Returns:
        (reason, offset of the damage if known), or None.
    """
    pos = head.position
    if pos.epoch != epoch:
        return None
    if size < pos.offset:
        return (
            f"it is {size} bytes, shorter than its checkpoint, which stands for its first {pos.offset}",
            size,
        )
    if prefix is None or len(prefix) != pos.offset:
        return f"only {0 if prefix is None else len(prefix)} of its first {pos.offset} bytes could be read", None
    if zlib.crc32(prefix) == head.log_crc:
        return None
    try:
        found = scan(prefix[FILE_HEADER_SIZE:])
    except Damage as err:
        return err.reason, FILE_HEADER_SIZE + err.offset
    why = "the bytes its checkpoint stands for changed since it was written"
    return why if found.torn is None else f"{why} ({found.torn})", None


def check_log(p: Paths, epoch: int, size: int, read_prefix: Any) -> None:
    """Raise CorruptState if `p`'s log (of `epoch`, `size` bytes) does not match its checkpoint.

    `read_prefix(n)` returns the log's first n bytes. Reads only the
    checkpoint's head (and the prefix, when there is a checkpoint of this epoch).
    """
    f = open_checkpoint(p)
    if f is None:
        return
    with f:
        head = parse_head(f, f.name)
    if head is None or head.position.epoch != epoch:
        return
    n = head.position.offset
    found = damage(head, epoch, size, read_prefix(n) if size >= n else None)
    if found is not None:
        raise corrupt(p, *found)


def corrupt(p: Paths, reason: str, offset: int | None) -> CorruptState:
    """The error for a log that does not match its checkpoint."""
    return CorruptState(
        p.name,
        p.log,
        reason,
        offset=offset,
        way_out="nothing was read past it or appended; a checkpoint never stands for damage: recover every "
        f"readable record with: {SALVAGE_COMMAND.format(name=p.name)}",
    )
