"""Blobs: big values kept beside a name's log, in files of their own.

A value of hundreds of megabytes inside a log record makes every reader of
the log (and every checkpoint) carry it. A blob is written once, apart:
`<root>/<type>/<name>/blobs/<key>`, replaced atomically (temporary file,
fsync, rename, fsync of the folder), and referred to by a small `BlobRef`
(the file's key, its size and its SHA-256) that the caller stores in its
log record instead of the value. Reading checks, like every file of the
store, that the file is not a link, is a plain file, and that no other user
can write it, then checks the size and the checksum: a blob that does not
match its reference is `CorruptState`, never returned.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from typing import NamedTuple

from . import _names
from ._errors import CorruptState, UnsafeState
from ._files import check_dirs, check_safe, open_nofollow
from ._objects import subdir
from ._writes import atomic_write

BLOBS = "blobs"
_LOST = "the value it held cannot be read; every other record is intact"


class BlobRef(NamedTuple):
    """Where a blob is and what it holds: its file's key, size and SHA-256 (hex)."""

    key: str
    size: int
    sha256: str


def save_blob(name: str, data: bytes | memoryview, prefix: str = "blob") -> BlobRef:
    """Write `data` as a new blob of `name`; returns its reference.

    The key is `prefix` and random bytes, so writers never collide and a
    blob is never replaced in place. Takes no lock.

    Raises:
        InvalidName, UnsafeState; OSError (a full store).
    """
    folder = subdir(name, BLOBS)
    key = f"{prefix}.{secrets.token_hex(8)}"
    _names.check_part(key)
    atomic_write(folder / key, data)
    return BlobRef(key, len(data), hashlib.sha256(data).hexdigest())


def load_blob(name: str, ref: BlobRef | tuple) -> bytes:
    """The bytes of blob `ref` of `name`, checked against its size and checksum.

    Raises:
        CorruptState: missing, cut, or not the bytes the reference names.
        UnsafeState: a link, not a plain file, or writable by others.
    """
    ref = BlobRef(*ref)
    p = _names.paths(name)
    _names.check_part(ref.key)
    path = p.dir / BLOBS / ref.key
    check_dirs(p.chain())
    try:
        fd = open_nofollow(path, os.O_RDONLY)
    except FileNotFoundError:
        raise CorruptState(name, path, "missing", way_out=_LOST) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeState(path, "not a plain file", f"move it aside: {path}")
        check_safe(path, st)
        data = f.read(ref.size + 1)
    if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
        raise CorruptState(
            name, path, f"not the {ref.size} bytes its record names: size or SHA-256 differ", way_out=_LOST
        )
    return data


def discard_blob(name: str, ref: BlobRef | tuple) -> None:
    """Remove blob `ref` of `name` (one that no record refers to); gone already is fine."""
    ref = BlobRef(*ref)
    _names.check_part(ref.key)
    try:
        os.unlink(_names.paths(name).dir / BLOBS / ref.key)
    except FileNotFoundError:
        pass
