"""Files on disk: durable atomic writes, folder creation, permission checks.

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
from collections.abc import Iterable
from pathlib import Path

from ._errors import UnsafeState

logger = logging.getLogger(__name__)

SHARED_GROUP_ENV = "SLURM_SEARCH_SHARED_GROUP"


def shared_group() -> bool:
    """Whether the store is shared by a group (`SLURM_SEARCH_SHARED_GROUP=1`)."""
    # The same reading as slurm_search.locking's, so both agree on the modes.
    return os.environ.get(SHARED_GROUP_ENV, "").strip().lower() not in ("", "0", "false")


def file_mode() -> int:
    return 0o660 if shared_group() else 0o600


def dir_mode() -> int:
    return 0o770 if shared_group() else 0o700


def ensure_dirs(dirs: Iterable[Path]) -> None:
    """Create the missing folders among `dirs` (parents first) with the store's mode.

    An existing folder is left as it is: loading checks it.
    """
    mode = dir_mode()
    for d in dirs:
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            continue
        except FileNotFoundError:
            # The root's own parent is missing (a fresh $SLURM_SEARCH_HOME
            # somewhere deep): create it the usual way, then ours.
            d.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(d, mode)
            except FileExistsError:
                continue
        # mkdir's mode is filtered through the umask; set it exactly.
        os.chmod(d, mode)


def _user_groups() -> set[int]:
    return {os.getegid(), *os.getgroups()}


def check_safe(path: Path, st: os.stat_result) -> None:
    """Refuse a file or folder that someone else could have written.

    Raises:
        UnsafeState: with the reason and the command that fixes it.
    """
    kind = "folder" if stat.S_ISDIR(st.st_mode) else "file"
    shared = shared_group()
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
    """check_safe on each folder (they must exist)."""
    for d in dirs:
        check_safe(d, os.stat(d))


def read_checked(path: Path) -> bytes:
    """Read a whole file after checking the open file's owner and mode.

    The check is on the open descriptor (fstat), so the file cannot be swapped
    between the check and the read. The caller checks the folders.

    Raises:
        FileNotFoundError: there is no such file.
        UnsafeState: the file could have been written by someone else.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        check_safe(path, st)
        return _read_all(fd, st.st_size)
    finally:
        os.close(fd)


def _read_all(fd: int, size_hint: int) -> bytes:
    chunks = []
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


def write_temp(path: Path, data: bytes | memoryview) -> Path:
    """Write `data` to the fixed temporary file beside `path` and fsync it.

    The temporary name is fixed (`.<file>.tmp`): writers hold the name's lock,
    so there is never more than one, and a writer killed half-way leaves one
    file that the next write reuses instead of litter that grows.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, file_mode())
    try:
        os.fchmod(fd, file_mode())
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def atomic_write(path: Path, data: bytes | memoryview, previous: Path | None = None) -> None:
    """Replace `path` with `data` atomically and durably.

    Temporary file in the same folder, flush, fsync, (hard-link the current
    file as `previous`), `os.replace`, fsync of the folder. The caller holds
    the name's lock.

    Args:
        path: the file to replace (or create).
        data: its new content.
        previous: where to keep the current version, if any.
    """
    tmp = write_temp(path, data)
    if previous is not None:
        keep_previous(path, previous)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def keep_previous(path: Path, previous: Path) -> None:
    """Make `previous` a hard link to the current `path` (if there is one).

    Linked under a temporary name and renamed, because link(2) will not
    replace an existing file; either way `previous` always holds a complete
    version.
    """
    tmp = previous.with_name(f".{previous.name}.tmp")
    try:
        try:
            os.link(path, tmp)
        except FileExistsError:
            # Left by a writer killed between link and rename.
            os.unlink(tmp)
            os.link(path, tmp)
    except FileNotFoundError:
        return
    except OSError as err:
        # A filesystem without hard links: keep no previous version rather
        # than fail the write.
        if err.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
            logger.warning("cannot keep the previous version of %s: %s", path, err)
            return
        raise
    os.replace(tmp, previous)
