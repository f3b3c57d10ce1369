"""The byte format of a log: a file header, then frames. Pure functions only.

File header (20 bytes, written once, atomically, by creating the file
through a rename)::

    magic b"SSLOG01\\n" | epoch u64 | crc32(magic + epoch) u32

Frame (one per `append` call)::

    length u64 | crc32(payload) u32 | crc32(length + payload crc) u32 | payload

The payload is the pickle of the tuple of records appended together. The
header carries its own checksum so that a damaged length can never pass for
a torn tail (which would make a reader stop early and the next writer cut off
good data after it).

What counts as a torn tail, that is what a killed writer or a crashed node can
leave after the last complete frame, since every append is fsynced before the
next one starts:
  * fewer bytes than a frame header;
  * a valid header whose frame runs past the end of the file;
  * a last frame, ending exactly at the end of the file, that fails its
    checksum and whose last byte is not the pickle's final STOP opcode
    (b"."): pages of an unsynced write that never reached the disk read as
    zeros. A complete last frame that ends in b"." but fails its checksum was
    written whole and changed afterwards: damage, not a torn write;
  * a header that fails its checksum followed only by zero bytes (a crash
    after the file grew but before its data was written).
Anything else that fails a checksum is damage, reported with its offset.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"SSLOG01\n"
_FILE_HEADER = struct.Struct("<8sQI")
_FRAME_HEADER = struct.Struct("<QII")
FILE_HEADER_SIZE = _FILE_HEADER.size
FRAME_HEADER_SIZE = _FRAME_HEADER.size
_STOP = ord(".")  # every pickle ends with the STOP opcode


class Damage(Exception):
    """Bytes that fail a checksum where no torn tail can be (internal)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(offset, reason)
        self.offset = offset
        self.reason = reason


def file_header(epoch: int) -> bytes:
    head = MAGIC + epoch.to_bytes(8, "little")
    return _FILE_HEADER.pack(MAGIC, epoch, zlib.crc32(head))


def parse_file_header(data: bytes) -> int:
    """The epoch of a log whose file starts with `data`.

    Raises:
        Damage: `data` is not a valid log file header.
    """
    if len(data) < FILE_HEADER_SIZE:
        raise Damage(0, f"file header incomplete ({len(data)} of {FILE_HEADER_SIZE} bytes)")
    magic, epoch, crc = _FILE_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise Damage(0, f"not a slurm-search log (starts with {magic!r})")
    if zlib.crc32(data[:16]) != crc:
        raise Damage(0, "file header fails its checksum")
    return int(epoch)


def frame(payload: bytes) -> bytes:
    """One frame holding `payload`."""
    length_crc = struct.pack("<QI", len(payload), zlib.crc32(payload))
    return length_crc + struct.pack("<I", zlib.crc32(length_crc)) + payload


@dataclass(frozen=True)
class Scan:
    """The result of walking the frames of a buffer.

    Attributes:
        payloads: (start, end) of each complete frame's payload in the buffer.
        end: where the complete frames end (the buffer's good prefix).
        torn: why the bytes after `end` are a torn tail, or None if there
            are none.
    """

    payloads: list[tuple[int, int]]
    end: int
    torn: str | None


def scan(buf: bytes) -> Scan:
    """Walk the frames of `buf`, which must run to the end of the file.

    Raises:
        Damage: with the offset in `buf` of a damaged frame.
    """
    view = memoryview(buf)
    n = len(buf)
    pos = 0
    payloads: list[tuple[int, int]] = []
    torn = None
    while pos < n:
        if n - pos < FRAME_HEADER_SIZE:
            torn = f"{n - pos} bytes, less than a frame header"
            break
        length, payload_crc, header_crc = _FRAME_HEADER.unpack_from(buf, pos)
        if zlib.crc32(view[pos : pos + 12]) != header_crc:
            if not buf[pos:].strip(b"\x00"):
                torn = f"{n - pos} zero bytes"
                break
            raise Damage(pos, "frame header fails its checksum")
        start = pos + FRAME_HEADER_SIZE
        end = start + length
        if end > n:
            torn = f"a frame of {length} bytes with only {n - start} written"
            break
        if zlib.crc32(view[start:end]) != payload_crc:
            if end == n and (length == 0 or buf[end - 1] != _STOP):
                torn = "the last frame fails its checksum (its end was never written)"
                break
            raise Damage(pos, "frame fails its checksum")
        payloads.append((start, end))
        pos = end
    return Scan(payloads, pos, torn)
