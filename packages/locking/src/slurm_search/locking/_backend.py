"""`LockBackend`: the concurrency contract every way of locking a file keeps.

`lock()` (in `_api`) builds one backend per acquisition, of the kind the
store's lock mode names (`BACKENDS` there); the store's fence asks it
whether the lock is still held. The tests in ``tests/locking`` run once per
backend: each backend keeps exactly this promise.
"""

from __future__ import annotations

import abc
from pathlib import Path


class LockBackend(abc.ABC):
    """One acquisition of one lock file, excluding other processes and hosts.

    Built with the lock file's path (``<locks>/<name>.lock``; a backend may
    use a sibling of it), once per acquisition, and used by one thread:
    `lock()` excludes the threads of its own process first, with a
    per-name ``threading.Lock``, because a file lock cannot (a flock belongs
    to an open file, a lease file to a process).

    The promise:

    - `acquire` returns True once this acquisition holds the lock. While it
      holds it, no other process that acquires the same path with the same
      backend, on this host or another sharing the filesystem, holds it too
      (the store's lock mode is recorded once, so every host uses the same
      backend). It returns False when the monotonic ``deadline`` passes
      first (None: wait forever). If it raises (an unsafe lock file, a
      filesystem without locking, an interrupt), it holds nothing.
    - `release` lets go; a waiter anywhere then gets the lock. It never
      raises because the lock was lost (it logs that instead).
    - A dead holder (SIGKILL, a crashed host) never blocks the others for
      ever: a kernel lock is freed at once; a lease may make waiters wait
      `grace` seconds from when they first look, not longer.
    - `grace` is how long a holder may stall before another may take its
      lock over; 0.0 (the default) means never. A backend whose lock can be
      taken over answers `still_held` truthfully: the store asks just before
      each write becomes visible (its fence), so a holder that was taken
      over writes nothing. A lock that cannot be lost is always still held.
    - A process forked while holding a lock does not hold it in the child.
    - A lock file is never followed through a link; one that is not a
      plain file of its own is refused (`UnsafeLockFile`).
    """

    @abc.abstractmethod
    def __init__(self, path: Path) -> None:
        """Prepare to acquire the lock file at ``path`` (nothing is locked yet)."""

    @property
    def grace(self) -> float:
        """Seconds a holder may stall before its lock may be taken over; 0.0: never."""
        return 0.0

    @abc.abstractmethod
    def acquire(self, deadline: float | None) -> bool:
        """Wait for the lock until ``deadline`` (`time.monotonic`; None: for ever); True once held."""

    def still_held(self) -> bool:
        """Whether this acquisition still holds the lock (always, unless it can be taken over)."""
        return True

    @abc.abstractmethod
    def release(self) -> None:
        """Let the lock go (after a successful `acquire`)."""
