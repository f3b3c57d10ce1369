"""The default backend: flock(2) on ``<locks>/<name>.lock``.

The kernel (or the network filesystem's lock manager) drops the lock when its
holder dies, so a killed worker never leaves a stale lock behind. Lock files
are never deleted: unlinking a flock file while another process waits on it
lets two processes hold "the same" lock on two inodes.

Each process keeps its lock files open between acquisitions (at most
``_OPEN_MOST`` of them): a lock is then two flock calls and two stats, about
5 us, where opening and closing the file each time cost fifteen times more.
After taking the flock, the holder checks that the path still names the
inode it locked (a store's folder removed and made again gives a new one)
and starts over on the new file if not. A file is never truncated, and a
link (symbolic or hard) in the lock folder is refused, never followed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
import time
from collections import OrderedDict
from pathlib import Path

from ._backend import LockBackend
from ._dirs import ensure_dir
from ._errors import UnsafeLockFile
from ._mode import flock_unsupported

__all__ = ["FlockBackend"]

# Waiters poll; a short interval keeps hand-over fast under contention (the
# store's throughput with 8 processes depends on it) at the cost of a cheap
# non-blocking flock() call per interval. A waiter that keeps waiting polls
# less and less often, up to _POLL_MAX: 256 waiters polling every 2 ms made
# 128,000 calls a second, took both cores of the machine, and starved the
# lock's holder and the workers' lease renewals (bench/bench_renewals.py).
# N waiters at that rate still notice a free lock within _POLL_MAX / N.
_POLL_INTERVAL = 0.002
_POLL_MAX = 0.05
_POLL_GROWTH = 1.2

_OPEN_MOST = 64  # lock files kept open per process; the least recently used is closed

_guard = threading.Lock()
_open: OrderedDict[Path, int] = OrderedDict()  # lock file -> its open descriptor
_busy: set[Path] = set()  # lock files a thread of this process holds or waits on (never closed)


def forget_instances() -> None:
    """In a forked child: close the parent's lock files, hold nothing.

    Closing a copy of a descriptor does not release the parent's flock (the
    lock belongs to the open file, which the parent still has open); the
    child opens files of its own, whose flocks exclude the parent's.
    """
    global _guard
    _guard = threading.Lock()
    for fd in _open.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _open.clear()
    _busy.clear()


def _unsafe(path: Path) -> UnsafeLockFile:
    return UnsafeLockFile(str(path), "a link or not a plain file")


def _descriptor(path: Path) -> int:
    """The open descriptor of lock file ``path`` (opened, and created, once), marked busy.

    The per-name thread mutex of ``_api`` lets one thread at a time use a
    path; the busy mark keeps another thread from closing its descriptor to
    make room while it is in use.
    """
    with _guard:
        fd = _open.get(path)
        if fd is not None:
            _open.move_to_end(path)
            _busy.add(path)
            return fd
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:  # the lock folder was removed: make it again
            ensure_dir(path.parent)
            fd = os.open(path, flags, 0o600)
    except OSError as err:
        if err.errno == errno.ELOOP:  # a symbolic link: never followed
            raise _unsafe(path) from None
        raise
    with _guard:
        other = _open.get(path)
        if other is not None:  # another thread of this process opened it meanwhile
            os.close(fd)
            fd = other
        _open[path] = fd
        _busy.add(path)
        while len(_open) > _OPEN_MOST:
            oldest = next((p for p in _open if p not in _busy), None)
            if oldest is None:
                break
            os.close(_open.pop(oldest))
    return fd


def _drop(path: Path, fd: int) -> None:
    """Forget and close a lock file's descriptor (not locked by this process)."""
    with _guard:
        _busy.discard(path)
        if _open.get(path) == fd:
            del _open[path]
    os.close(fd)


def _idle(path: Path) -> None:
    with _guard:
        _busy.discard(path)


def _locked_file_is_the_path(path: Path, fd: int) -> bool:
    """Whether ``fd`` (just locked) is the plain, unlinked-to file that ``path`` names.

    Raises:
        UnsafeLockFile: the file has another name (a hard link planted in
            the lock folder) or is not a plain file.
    """
    mine = os.fstat(fd)
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        return False
    if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
        return False
    if not stat.S_ISREG(mine.st_mode) or mine.st_nlink != 1:
        raise _unsafe(path)
    return True


class FlockBackend(LockBackend):
    """One acquisition of one flock lock file (see `LockBackend`; it cannot be taken over: ``grace`` 0)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def acquire(self, deadline: float | None) -> bool:
        try:
            return self._acquire(deadline)
        except BaseException:
            _idle(self._path)
            raise

    def _acquire(self, deadline: float | None) -> bool:
        poll = _POLL_INTERVAL
        while True:
            fd = _descriptor(self._path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            except OSError as err:
                _drop(self._path, fd)
                refused = flock_unsupported(self._path, err)
                if refused is not None:
                    raise refused from err
                raise
            else:
                try:
                    same = _locked_file_is_the_path(self._path, fd)
                except BaseException:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    _drop(self._path, fd)
                    raise
                if same:
                    self._fd = fd
                    return True
                # The path names another file now (or none): lock that one.
                fcntl.flock(fd, fcntl.LOCK_UN)
                _drop(self._path, fd)
                continue
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                _idle(self._path)
                return False
            time.sleep(poll if deadline is None else min(poll, deadline - now))
            poll = min(poll * _POLL_GROWTH, _POLL_MAX)

    def still_held(self) -> bool:
        """Always: the kernel keeps a flock until its holder lets go or dies."""
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            _idle(self._path)
