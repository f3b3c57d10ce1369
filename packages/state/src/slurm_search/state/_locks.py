"""Taking a name's lock, or using it if this thread already holds it.

Locks refuse re-entry, so every state call goes through `held`: a caller may
wrap several calls in one `lock(name)` and they run as one atomic step
(`with lock(n): recs, pos = records(n, pos); append(n, rec)`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slurm_search import locking


@contextmanager
def held(name: str, timeout: float | None = None) -> Iterator[None]:
    """Hold `name`'s lock for the block: take it, or use the one this thread holds.

    Raises:
        LockTimeout: the lock was not had within `timeout` seconds.
    """
    if locking.have_lock(name):
        yield
        return
    with locking.lock(name, timeout=timeout):
        yield
