"""Files on disk: folder creation, permission checks, checked reads (writes: `_writes`).

Invariants:
  * A file is only ever replaced whole, by `os.replace` of a fully written and
    fsynced temporary file in the same folder, followed by an fsync of the
    folder. After a crash at any instant the path holds the old bytes or the
    new ones.
  * Nothing is unpickled from a file unless the file and every folder from the
    root down are owned by this user and writable by nobody else (or, with
    `SLURM_SEARCH_SHARED_GROUP=1`, by this user's group and nobody else).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from slurm_search import locking
from slurm_search.locking import settings

from ._errors import UnsafeState

logger = logging.getLogger(__name__)

SHARED_GROUP_ENV = settings.SHARED_GROUP_VARIABLE


def ensure_dirs(dirs: Iterable[Path]) -> None:
    """Create the missing folders among `dirs` (parents first) with the store's mode.

    An existing folder is left as it is: loading checks it.
    """
    for d in dirs:
        locking.ensure_dir(d)


_AT_FDCWD = -100
_AT_SYMLINK_NOFOLLOW = 0x100
_AT_EMPTY_PATH = 0x1000
_AT_STATX_FORCE_SYNC = 0x2000
_STATX_BASIC_STATS = 0x7FF


def _load_statx():  # type: ignore[no-untyped-def]
    """statx(dirfd, path, flags) through libc (its result ignored), or None without it."""
    try:
        import ctypes

        statx = ctypes.CDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    # Only the call's side effect matters (the kernel refreshes its cached
    # attributes); what it writes here is never read, so one buffer serves all.
    buf = ctypes.create_string_buffer(256)

    def call(dirfd: int, path: bytes, flags: int) -> None:
        statx(dirfd, path, flags, _STATX_BASIC_STATS, buf)

    return call


_statx = _load_statx()


def fresh_stat(path: Path) -> os.stat_result:
    """os.stat of `path`, after making the kernel ask the file server (see refresh)."""
    if _statx is not None and on_shared_fs(path):
        _statx(_AT_FDCWD, os.fsencode(path), _AT_STATX_FORCE_SYNC | _AT_SYMLINK_NOFOLLOW)
    return os.stat(path, follow_symlinks=False)


_shared: dict[Path | str, bool] = {}


def on_shared_fs(path: Path | str) -> bool:
    """Whether `path` is on a filesystem other hosts may write (cached per path)."""
    found = _shared.get(path)
    if found is None:
        fs = locking.mount_of(os.path.dirname(path))
        if len(_shared) > 4096:
            _shared.clear()
        found = _shared[path] = fs is None or not fs.local
    return found


def refresh(fd: int, path: Path | str) -> None:
    """Make the kernel fetch an open file's size and times from the file server.

    Network and FUSE filesystems cache attributes (NFS ``actimeo``, FUSE
    ``attr_timeout``, 1 s by default): a file another host replaced or grew
    may look as long as it was, and reads stop at that stale size. A forced
    statx asks the server. Skipped on a local filesystem (`path` tells which),
    where nothing is cached that another host could change.
    """
    if _statx is not None and on_shared_fs(path):
        _statx(fd, b"", _AT_EMPTY_PATH | _AT_STATX_FORCE_SYNC)


def _user_groups() -> set[int]:
    return {os.getegid(), *os.getgroups()}


def check_safe(path: Path, st: os.stat_result) -> None:
    """Refuse a file or folder that someone else could have written.

    Raises:
        UnsafeState: with the reason and the command that fixes it.
    """
    kind = "folder" if stat.S_ISDIR(st.st_mode) else "file"
    shared = settings.group_shared()
    if st.st_mode & stat.S_IWOTH:
        raise UnsafeState(path, f"a {kind} writable by others", f"fix it with: chmod o-w {path}")
    if st.st_uid != os.geteuid():
        if not shared:
            raise UnsafeState(
                path,
                f"a {kind} owned by another user (uid {st.st_uid})",
                f"if you trust it, fix it with: chown {os.geteuid()} {path}; "
                f"or set {SHARED_GROUP_ENV}=1 for a store shared by a group",
            )
        if st.st_gid not in _user_groups():
            raise UnsafeState(
                path,
                f"a {kind} of another user (uid {st.st_uid}) in a group you are "
                f"not in (gid {st.st_gid})",
                f"give it your group with: chgrp GROUP {path}",
            )
    if st.st_mode & stat.S_IWGRP and not shared:
        raise UnsafeState(
            path,
            f"a {kind} writable by its group",
            f"fix it with: chmod g-w {path}; or, if the store is meant to be "
            f"shared by a group, set {SHARED_GROUP_ENV}=1",
        )


def check_dirs(dirs: Iterable[Path]) -> None:
    """check_safe on each folder (they must exist), root first.

    The root may be a symbolic link (a home folder pointing at the shared
    filesystem is the user's choice); a folder inside the store may not: a
    link there sends reads and writes outside it.
    """
    for i, d in enumerate(dirs):
        st = os.stat(d) if i == 0 else os.lstat(d)
        if stat.S_ISLNK(st.st_mode):
            raise UnsafeState(d, "a symbolic link inside the store", f"replace the link with a folder: {d}")
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeState(d, "not a folder", f"move it aside: {d}")
        check_safe(d, st)


def open_nofollow(path: Path, flags: int) -> int:
    """os.open with O_NOFOLLOW; a link there raises UnsafeState (not a bare ELOOP)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UnsafeState(path, "a symbolic link", f"replace the link with the file: {path}") from None
        raise


# How long a reader waits for a second name of a store file to go away before
# refusing it: a log is created by linking a finished temporary file and
# unlinking the temporary name, salvage links a damaged log aside before it
# replaces it, and an object has its previous version linked to it just before
# the rename: each leaves a second name for microseconds, never for this long.
LINK_SETTLE_SECONDS = 0.2


def _asides_of(path: Path, st: os.stat_result) -> int:
    """How many ``<name>.damaged.*`` files beside `path` are the same file (salvage's copies)."""
    prefix = path.name + ".damaged."
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(prefix)]
    except OSError:
        return 0
    same = 0
    for name in names:
        try:
            other = os.lstat(path.parent / name)
        except OSError:
            continue
        same += (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino)
    return same


def open_checked(path: Path, flags: int = os.O_RDONLY, *, links: int = 1) -> tuple[int, os.stat_result]:
    """Open a store file: no link followed, a plain file, no other names, nobody else can write it.

    The one safe open of the store: every reader and in-place writer of a
    stored file opens it here. The checks are on the open descriptor
    (fstat), so the file cannot be swapped between them and the use. The
    caller checks the folders (`check_dirs`) and closes the descriptor.

    Args:
        path: the file.
        flags: ``os.O_RDONLY`` or ``os.O_RDWR`` (O_NOFOLLOW and O_CLOEXEC are added).
        links: how many names the file may have. 1, except for an object,
            whose previous version is linked to it just before a write
            replaces it (2).

    Raises:
        FileNotFoundError: there is no such file.
        UnsafeState: a symbolic link, not a plain file, a file with more
            names than `links` (a hard link from elsewhere), or a file that
            another user could have written.
    """
    fd = open_nofollow(path, flags)
    try:
        refresh(fd, path)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeState(path, "not a plain file", f"move it aside: {path}")
        if st.st_nlink > links and flags == os.O_RDONLY:
            # A damaged log salvage linked aside (`<file>.damaged.<time>`, for
            # good if salvage was killed before it replaced the log): reading
            # it is safe; writing in place would change the copy too.
            links += _asides_of(path, st)
        deadline = time.monotonic() + LINK_SETTLE_SECONDS
        while st.st_nlink > links and time.monotonic() < deadline:
            time.sleep(0.01)
            st = os.fstat(fd)
        if st.st_nlink > links:
            raise UnsafeState(path, "not a plain file of its own (a hard link?)", f"move it aside: {path}")
        check_safe(path, st)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def ensure_private_dir(path: Path) -> Path:
    """Create folder `path` (inside the store) with the store's mode, refusing a link there."""
    ensure_dirs([path])
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeState(path, "a symbolic link or not a folder", f"replace it with a folder: {path}")
    check_safe(path, st)
    return path


def read_checked(path: Path, *, links: int = 1) -> bytes:
    """Read a whole file after checking the open file's owner and mode (see read_stamped)."""
    return read_stamped(path, links=links)[0]


def read_stamped(path: Path, *, links: int = 1) -> tuple[bytes, tuple[int, int, int]]:
    """Read a whole file after checking the open file's owner and mode; with its stamp.

    The check is on the open descriptor (fstat), so the file cannot be swapped
    between the check and the read. The caller checks the folders.

    Raises:
        FileNotFoundError: there is no such file.
        UnsafeState: the file could have been written by someone else.
    """
    fd, st = open_checked(path, links=links)
    try:
        return _read_all(fd, st.st_size), stamp(st)
    finally:
        os.close(fd)


def _read_all(fd: int, size_hint: int) -> bytes:
    chunks: list[bytes] = []
    want = max(size_hint, 0) + 1  # +1: see EOF in the same call when the size held
    while True:
        chunk = os.read(fd, want)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        want = 1 << 20


def write_all(fd: int, data: bytes | memoryview, offset: int | None = None) -> None:
    """Write every byte (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        if offset is None:
            n = os.write(fd, view)
        else:
            n = os.pwrite(fd, view, offset)
            offset += n
        view = view[n:]


def fsync_dir(path: Path) -> None:
    """fsync a folder, so that renames and new entries in it are durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stamp(st: os.stat_result) -> tuple[int, int, int]:
    """What identifies one version of a file: inode, size, mtime.

    Not ctime: keeping the previous version (a hard link) changes it.
    """
    return (st.st_ino, st.st_size, st.st_mtime_ns)
