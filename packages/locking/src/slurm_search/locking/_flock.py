"""The default backend: flock(2) on ``<locks>/<name>.lock`` through filelock.

The kernel (or the network filesystem's lock manager) drops the lock when its
holder dies, so a killed worker never leaves a stale lock behind. Lock files
are never deleted: unlinking a flock file while another process waits on it
lets two processes hold "the same" lock on two inodes."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import filelock

from ._errors import UnsafeLockFile
from ._mode import flock_unsupported

__all__ = ["FlockBackend"]

# Waiters poll; a short interval keeps hand-over fast under contention (the
# store's throughput with 8 processes depends on it) at the cost of a cheap
# non-blocking flock() call per interval.
_POLL_INTERVAL = 0.002


# One filelock object per lock file and process, reused: building one costs
# more than taking it. Sharing is safe because the per-name thread mutex in
# _api lets one thread of this process at a time use it.
_instances: dict[Path, filelock.UnixFileLock] = {}


def forget_instances() -> None:
    """Drop the filelock objects (in a forked child: they belong to the parent)."""
    _instances.clear()


class FlockBackend:
    """One acquisition of one flock lock file."""

    def __init__(self, path: Path) -> None:
        found = _instances.get(path)
        if found is None:
            found = _instances[path] = filelock.UnixFileLock(
                str(path),
                mode=0o600,
                thread_local=False,
                # Never silently degrade to a lock that may not exclude (README).
                fallback_to_soft=False,
            )
        self._lock = found
        self._path = path

    def acquire(self, deadline: float | None) -> bool:
        # filelock opens with O_NOFOLLOW but truncates the file once locked:
        # a hard link planted in the lock folder would truncate its target.
        try:
            st = os.lstat(self._path)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                raise UnsafeLockFile(str(self._path), "a link or not a plain file")
        timeout = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            self._lock.acquire(timeout=timeout, poll_interval=_POLL_INTERVAL)
        except filelock.Timeout:
            return False
        except OSError as err:
            refused = flock_unsupported(self._path, err)
            if refused is not None:
                raise refused from err
            raise
        return True

    def still_held(self) -> bool:
        """Always: the kernel keeps a flock until its holder lets go or dies."""
        return True

    def release(self) -> None:
        self._lock.release(force=True)
