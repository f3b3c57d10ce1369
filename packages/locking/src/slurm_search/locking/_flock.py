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
# non-blocking flock() call per interval. A waiter that keeps waiting polls
# less and less often, up to _POLL_MAX: 256 waiters polling every 2 ms made
# 128,000 calls a second, took both cores of the machine, and starved the
# lock's holder and the workers' lease renewals (bench/bench_renewals.py).
# N waiters at that rate still notice a free lock within _POLL_MAX / N.
_POLL_INTERVAL = 0.002
_POLL_MAX = 0.05
_POLL_GROWTH = 1.2


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
        poll = _POLL_INTERVAL
        while True:
            try:
                self._lock.acquire(timeout=0)
                return True
            except filelock.Timeout:
                pass
            except OSError as err:
                refused = flock_unsupported(self._path, err)
                if refused is not None:
                    raise refused from err
                raise
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            time.sleep(poll if deadline is None else min(poll, deadline - now))
            poll = min(poll * _POLL_GROWTH, _POLL_MAX)

    def still_held(self) -> bool:
        """Always: the kernel keeps a flock until its holder lets go or dies."""
        return True

    def release(self) -> None:
        self._lock.release(force=True)
