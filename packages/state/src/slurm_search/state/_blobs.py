"""Checksummed files and folders beside a stored object: written once, published atomically.

A session keeps its trials' checkpoints here (never in its log): a pickled
object as one file, or a folder of files that the caller wrote in place
(torch state dicts, replay buffers) so that big data is written to disk once
and never passes through memory twice.

Both are staged under a temporary name in the folder they end in, fsynced,
and then *published* by one rename (plus an fsync of the folder): a reader
sees the whole checkpoint or none. The caller decides when to publish (a
session publishes under its lock, after checking that the writer still holds
the trial), which is why staging and publishing are separate calls.

Every byte is covered by a CRC-32: a file carries its own in a header, a
folder a `MANIFEST` of every file's size and CRC. Reading verifies them and
raises `CorruptState` on any difference, so a damaged checkpoint is never
taken for a good one. Nothing is read through a link, nor from a file that
another user could have written (the store's rule for anything it unpickles).

Big values of a log record (a result of hundreds of megabytes) are blobs too,
of the simplest kind: `save_blob` writes the bytes once, atomically, to
`<root>/<type>/<name>/blobs/<key>`, and the caller stores the small `BlobRef`
(key, size, SHA-256) in its record instead of the value; `load_blob` checks
both before it returns the bytes, so the log's reference vouches for them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import stat
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from . import _names
from ._errors import CorruptState, UnsafeState
from ._files import check_dirs, ensure_private_dir, fsync_dir, open_checked, open_nofollow, write_all
from ._objects import subdir
from ._writes import atomic_write

__all__ = [
    "MANIFEST",
    "BlobRef",
    "discard_blob",
    "load_blob",
    "save_blob",
    "blob_dir",
    "publish",
    "read_blob",
    "remove_blob",
    "seal_folder",
    "stage_blob",
    "stage_folder",
    "verify_folder",
]

MAGIC = b"SSBLOB1\n"
_HEAD = struct.Struct("<8sQI")  # magic, payload length, CRC-32 of the payload
MANIFEST = "MANIFEST"
_MANIFEST_HEAD = "slurm-search manifest 1"
_STAGED = ".staged."
_CHUNK = 1 << 20


def blob_dir(parent: Path, child: str) -> Path:
    """The folder `parent/child` (`parent` inside the store), created with the store's mode.

    Raises:
        UnsafeState: it is a link or a file, or writable by others.
    """
    if not child or "/" in child or child in (".", ".."):
        raise ValueError(f"not a folder name: {child!r}")
    return ensure_private_dir(parent / child)


def _staged_name(folder: Path) -> Path:
    return folder / f"{_STAGED}{secrets.token_hex(8)}"


def stage_blob(folder: Path, data: bytes | memoryview) -> Path:
    """Write `data` with its checksum to a new temporary file in `folder`, fsynced.

    Returns:
        The staged file: publish it with `publish`, or remove it.
    """
    path = _staged_name(folder)
    view = memoryview(data)
    fd = open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        write_all(fd, _HEAD.pack(MAGIC, view.nbytes, zlib.crc32(view)))
        write_all(fd, view)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink(path)
        raise
    os.close(fd)
    return path


def stage_folder(folder: Path) -> Path:
    """A new, empty temporary folder in `folder` for the caller to fill; seal it, then publish it."""
    path = _staged_name(folder)
    os.mkdir(path, 0o700)
    return path


def _walk(top: Path) -> Iterator[tuple[str, Path]]:
    """(relative name, path) of every plain file under `top`, sorted; links and odd files refused."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in [*dirnames]:
            if os.path.islink(base / name):
                raise UnsafeState(base / name, "a symbolic link in a checkpoint folder", "write files, not links")
        for name in sorted(filenames):
            path = base / name
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafeState(path, "not a plain file in a checkpoint folder", "write plain files only")
            rel = path.relative_to(top).as_posix()
            if rel == MANIFEST:
                continue
            yield rel, path


def _crc_file(path: Path) -> tuple[int, int]:
    """(size, CRC-32) of a file, read in chunks; the file is opened without following links."""
    fd, _ = open_checked(path)
    try:
        crc, size = 0, 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return size, crc
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    finally:
        os.close(fd)


def seal_folder(path: Path) -> int:
    """fsync every file of a staged folder and write its MANIFEST; the total size in bytes.

    Raises:
        UnsafeState: the folder holds a link or something that is not a plain file.
    """
    lines = [_MANIFEST_HEAD]
    total = 0
    dirs = {path}
    for rel, file in _walk(path):
        if any(c in rel for c in "\t\n\r"):
            raise ValueError(f"a checkpoint file name may not hold a tab or a line break: {rel!r}")
        fd = open_nofollow(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        size, crc = _crc_file(file)
        total += size
        lines.append(f"{size}\t{crc:08x}\t{rel}")
        dirs.add(file.parent)
    body = ("\n".join(lines) + "\n").encode()
    fd = open_nofollow(path / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        write_all(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(d)
    return total


def publish(staged: Path, final: Path) -> None:
    """Rename a staged file or folder to `final` (same folder) and make the rename durable.

    Raises:
        FileExistsError: `final` exists already (nothing is replaced).
    """
    if final.exists() or final.is_symlink():
        raise FileExistsError(errno.EEXIST, "a checkpoint of that name exists", str(final))
    os.rename(staged, final)
    fsync_dir(final.parent)


def read_blob(path: Path, name: str = "") -> bytes:
    """The payload of a published blob, after checking its length and CRC.

    Raises:
        FileNotFoundError: there is no such file.
        CorruptState: the file is cut short, too long, or its bytes differ from its CRC.
        UnsafeState: a link, not a plain file, or writable by others.
    """
    fd, st = open_checked(path)
    try:
        head = os.pread(fd, _HEAD.size, 0)
        if len(head) < _HEAD.size or head[:8] != MAGIC:
            raise CorruptState(name, path, "not a checkpoint file, or its header is cut", way_out=_WAY_OUT)
        _, length, crc = _HEAD.unpack(head)
        if st.st_size != _HEAD.size + length:
            raise CorruptState(
                name, path, f"{st.st_size - _HEAD.size} bytes where its header says {length}", way_out=_WAY_OUT
            )
        data = bytearray(length)
        view = memoryview(data)
        got = 0
        while got < length:
            n = os.preadv(fd, [view[got:]], _HEAD.size + got)
            if n <= 0:
                raise CorruptState(name, path, "cut short while reading", way_out=_WAY_OUT)
            got += n
        if zlib.crc32(view) != crc:
            raise CorruptState(name, path, "its bytes do not match their checksum", way_out=_WAY_OUT)
        return bytes(data)
    finally:
        os.close(fd)


_WAY_OUT = "an older checkpoint is used if there is one; else the trial starts afresh"


def verify_folder(path: Path, name: str = "") -> int:
    """Check every file of a published folder against its MANIFEST; the total size.

    Raises:
        CorruptState: no MANIFEST, a file missing, added, of another size or CRC.
        UnsafeState: a link or something other than a plain file inside.
    """
    try:
        text = (path / MANIFEST).read_bytes().decode()
    except (FileNotFoundError, UnicodeDecodeError) as err:
        raise CorruptState(name, path, f"its MANIFEST does not read ({err})", way_out=_WAY_OUT) from None
    lines = text.splitlines()
    if not lines or lines[0] != _MANIFEST_HEAD:
        raise CorruptState(name, path, "its MANIFEST is not one", way_out=_WAY_OUT)
    expected: dict[str, tuple[int, int]] = {}
    for line in lines[1:]:
        try:
            size_text, crc_text, rel = line.split("\t", 2)
            expected[rel] = (int(size_text), int(crc_text, 16))
        except ValueError:
            raise CorruptState(name, path, f"its MANIFEST has a bad line: {line!r}", way_out=_WAY_OUT) from None
    found = dict(_walk(path))
    if set(found) != set(expected):
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        raise CorruptState(
            name, path, f"files missing {missing} or not in its MANIFEST {extra}", way_out=_WAY_OUT
        )
    total = 0
    for rel, (size, crc) in expected.items():
        if _crc_file(found[rel]) != (size, crc):
            raise CorruptState(name, path, f"{rel} does not match its checksum", way_out=_WAY_OUT)
        total += size
    return total


def remove_blob(path: Path) -> None:
    """Remove a blob or a folder (staged or published); missing is fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        _unlink(path)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def is_staged(path: Path) -> bool:
    """Whether `path` is a staged (unpublished) blob or folder: left by a writer that died."""
    return path.name.startswith(_STAGED)


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
        InvalidName: the name is malformed.
        UnsafeState: the folder is writable by others or owned by another user.
        OSError: a full store.
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
        fd, _ = open_checked(path)
    except FileNotFoundError:
        raise CorruptState(name, path, "missing", way_out=_LOST) from None
    with os.fdopen(fd, "rb") as f:
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
