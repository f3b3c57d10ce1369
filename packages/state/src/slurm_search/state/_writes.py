"""Writing the store's files: temporary files, atomic replacement, no-clobber creation.

A write goes to a temporary file named for its host, process and a random
part in the same folder, is flushed and fsynced, and is renamed (or linked,
for a file that must not exist yet) into place; the folder is fsynced after.
Under a lock, a write first checks that the file is what its writer read
(`check_unchanged`) and that the lock is still held (`fence`).
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path

from slurm_search import locking
from slurm_search.locking import settings

from ._errors import LockNotCoherent
from ._files import fresh_stat, fsync_dir, read_checked, stamp, write_all

logger = logging.getLogger(__name__)


_HOST = socket.gethostname().replace("/", "_")[:64]
_TMP_TAG = ".tmp."
_swept: set[Path] = set()


_prefixes: dict[tuple[Path, int], str] = {}


def temp_name(path: Path) -> str:
    """A temporary name beside `path`, unique per host, process and call.

    Unique, not fixed: where locks fail to exclude across hosts, two writers
    on two hosts must never write (or rename away) one temporary file.
    """
    key = (path, os.getpid())
    prefix = _prefixes.get(key)
    if prefix is None:
        if len(_prefixes) > 4096:
            _prefixes.clear()
        prefix = _prefixes[key] = os.path.join(path.parent, f".{path.name}{_TMP_TAG}{_HOST}.{key[1]}.")
    return prefix + os.urandom(4).hex()


def sweep_temps(folder: Path, key: Path | None = None) -> None:
    """Remove temporary files that writers killed half-way left in `folder`.

    Only those of this host whose process is gone: whether a process on
    another host lives cannot be told from here (their litter is small and
    `doctor` lists it). Runs once per folder and process.
    """
    key = folder if key is None else key
    if key in _swept:
        return
    _swept.add(key)
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if not entry.startswith(".") or _TMP_TAG not in entry:
            continue
        host, _, rest = entry.partition(_TMP_TAG)[2].rpartition(".")[0].rpartition(".")
        if host != _HOST or not rest.isdigit() or _alive(int(rest)):
            continue
        try:
            os.unlink(folder / entry)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_temp(path: Path, data: bytes | memoryview) -> str:
    """Write `data` to a new temporary file beside `path` and fsync it."""
    if path not in _swept:
        sweep_temps(path.parent, key=path)
    tmp = temp_name(path)
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, settings.file_mode()
    )
    try:
        os.fchmod(fd, settings.file_mode())
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    return tmp


def _unlink_quietly(path: Path | str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def fence(name: str, path: Path) -> None:
    """Just before a write to `path` becomes visible: is name's lock still ours?

    Raises:
        LockNotCoherent: the (soft) lock was taken over while this process
            was paused; nothing is written.
    """
    try:
        locking.fence(name)
    except locking.LockLost as err:
        raise LockNotCoherent(
            name,
            path,
            f"this process's lock was taken over while it was paused longer than "
            f"the grace period ({err.grace:g} s)",
        ) from err


def check_unchanged(name: str, path: Path, expect: tuple[tuple[int, int, int], bytes]) -> None:
    """Refuse to replace `path` if another writer changed it since we read it.

    `expect` is the stamp and the bytes of what we read under the lock. The
    stamp is the fast check; where it differs (an attribute cache may have
    served a stale one) the bytes decide.

    Raises:
        LockNotCoherent: the file changed under our lock.
    """
    want_stamp, want_bytes = expect
    try:
        now = fresh_stat(path)
    except FileNotFoundError:
        now = None
    # Unchanged, or changed last by this process itself (a call nested in the
    # caller's, under the same lock).
    if now is not None and stamp(now) in (want_stamp, _written.get(str(path))):
        return
    try:
        current = read_checked(path, links=2)  # its previous version is linked to it by now
    except FileNotFoundError:
        current = None
    if current != want_bytes:
        raise LockNotCoherent(
            name, path, "another process changed it since this one read it under the lock"
        )


def atomic_write(
    path: Path,
    data: bytes | memoryview,
    previous: Path | None = None,
    *,
    lock: str | None = None,
    expect: tuple[tuple[int, int, int], bytes] | None = None,
) -> None:
    """Replace `path` with `data` atomically and durably.

    Temporary file in the same folder, flush, fsync, (hard-link the current
    file as `previous`), `os.replace`, fsync of the folder. The caller holds
    the name's lock.

    Args:
        path: the file to replace (or create).
        data: its new content.
        previous: where to keep the current version, if any.
        lock: the name whose lock the caller holds: checked (fenced) just
            before the rename.
        expect: the stamp and bytes of `path` as the caller read it: the
            write is refused if `path` changed since.

    Raises:
        LockNotCoherent: the lock did not hold (nothing is written).
    """
    tmp = write_temp(path, data)
    try:
        if previous is not None:
            keep_previous(path, previous)
        # The checks go last, just before the rename that makes the write
        # visible: the narrower the gap, the fewer races slip through where
        # locks do not exclude.
        if lock is not None:
            fence(lock, path)
        if expect is not None:
            check_unchanged(lock or path.name, path, expect)
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)
    if lock is not None:
        _remember(path)


# path -> stamp of the version this process wrote last (see check_unchanged).
_written: dict[str, tuple[int, int, int]] = {}


def _remember(path: Path) -> None:
    if len(_written) > 4096:
        _written.clear()
    _written[str(path)] = stamp(os.stat(path))


def create_new(path: Path, data: bytes | memoryview, *, lock: str | None = None) -> bool:
    """Create `path` with `data` atomically, never replacing a file; False if one exists."""
    tmp = write_temp(path, data)
    try:
        if lock is not None:
            fence(lock, path)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        _unlink_quietly(tmp)
    fsync_dir(path.parent)
    if lock is not None:
        _remember(path)
    return True


def keep_previous(path: Path, previous: Path) -> None:
    """Make `previous` a hard link to the current `path` (if there is one).

    Linked under a temporary name and renamed, because link(2) will not
    replace an existing file; either way `previous` always holds a complete
    version.
    """
    tmp = temp_name(previous)
    try:
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
    # rename(2) does nothing when both names are links to one file (`previous`
    # already was the current version): then our temporary name is still there.
    _unlink_quietly(tmp)
