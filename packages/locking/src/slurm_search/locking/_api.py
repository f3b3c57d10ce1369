"""``lock(name)``: mutual exclusion for a string name between the threads of
one process, between processes, and between hosts sharing the filesystem.

Two levels: a per-name ``threading.Lock`` excludes the threads of this process
(file locks alone cannot, flock being per open file and soft locks per file),
then the backend's file lock excludes other processes and hosts. A thread
that already holds a name and asks for it again gets LockReentry at once
instead of a deadlock."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ._backend import LockBackend
from ._dirs import ensure_dir
from ._errors import LockLost, LockReentry, LockTimeout, NotLocked
from ._flock import FlockBackend, forget_instances
from ._mode import lock_mode
from ._names import validate_name
from ._soft import SoftBackend
from .settings import home_key, locks_dir

__all__ = ["BACKENDS", "lock", "have_lock", "needs_lock", "held_locks", "fence", "lock_mode"]

logger = logging.getLogger("slurm_search.locking")

SLOW_WAIT = 0.1  # waits longer than this are logged
#: The backend of each lock mode (`lock_mode`), each keeping the `LockBackend` contract.
BACKENDS: dict[str, type[LockBackend]] = {"flock": FlockBackend, "soft": SoftBackend}

_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}
_held = threading.local()

F = TypeVar("F", bound=Callable[..., object])


def _held_names() -> dict[str, LockBackend]:
    names = getattr(_held, "names", None)
    if names is None:
        names = _held.names = {}
    return names


def _thread_lock(name: str) -> threading.Lock:
    with _registry_guard:
        found = _thread_locks.get(name)
        if found is None:
            found = _thread_locks[name] = threading.Lock()
        return found


# (the environment that decides the root, the name) -> the lock file: every
# lock() asks, and building the Path costs more than taking a flock.
_paths: dict[tuple[str, str, str], Path] = {}


def _lock_path(name: str) -> Path:
    """The lock file of a valid name; raises InvalidLockName for others."""
    key = (*home_key(), name)
    path = _paths.get(key)
    if path is None:
        validate_name(name)
        folder = locks_dir()
        ensure_dir(folder)  # made again by the backends if it goes away later
        path = folder / f"{name}.lock"
        if len(_paths) > 4096:
            _paths.clear()
        _paths[key] = path
    return path


def _forget_after_fork() -> None:
    """A forked child starts holding no lock.

    The child has one thread; the locks the parent's threads held (and the
    mutexes guarding them) stay the parent's: their flock belongs to the
    parent's open file, which the parent unlocks. The child builds its own.
    """
    global _registry_guard
    _registry_guard = threading.Lock()
    _thread_locks.clear()
    _held.names = {}
    forget_instances()


os.register_at_fork(after_in_child=_forget_after_fork)


def fence(name: str) -> None:
    """Check, just before a write becomes visible, that this thread still holds ``name``.

    A flock is kept by the kernel; a soft lock may have been broken while its
    holder was paused past the grace period, and then nothing may be written.

    Raises:
        NotLocked: this thread does not hold ``name``.
        LockLost: the lock was taken over by another process.
    """
    backend = _held_names().get(name)
    if backend is None:
        raise NotLocked(name, "fence")
    if not backend.still_held():
        raise LockLost(name, backend.grace)


def have_lock(name: str) -> bool:
    """Whether the calling thread holds lock ``name``."""
    return name in _held_names()


def held_locks() -> frozenset[str]:
    """The names of the locks the calling thread holds."""
    return frozenset(_held_names())


@contextmanager
def lock(name: str, timeout: float | None = None) -> Iterator[None]:
    """Hold lock ``name`` for the body of a ``with`` statement.

    Args:
        name: the lock's name (``search:lumpy_roomy_vague_army``); no path
            separators, no ``..``, not empty.
        timeout: seconds to wait at most; ``None`` waits forever.

    Raises:
        InvalidLockName: the name could escape the lock folder.
        LockReentry: this thread already holds ``name``.
        LockTimeout: ``timeout`` passed before the lock was free.
    """
    path = _lock_path(name)
    held = _held_names()
    if name in held:
        raise LockReentry(name)
    start = time.monotonic()
    deadline = None if timeout is None else start + max(0.0, timeout)
    mutex = _thread_lock(name)
    if not mutex.acquire(timeout=-1 if deadline is None else max(0.0, deadline - start)):
        raise LockTimeout(name, time.monotonic() - start)
    try:
        backend = BACKENDS[lock_mode()](path)
        if not backend.acquire(deadline):
            raise LockTimeout(name, time.monotonic() - start)
    except BaseException:
        mutex.release()
        raise
    waited = time.monotonic() - start
    if waited > SLOW_WAIT:
        logger.info("waited %.3f s for lock %r", waited, name)
    held[name] = backend
    try:
        yield
    finally:
        held.pop(name, None)
        try:
            backend.release()
        finally:
            mutex.release()


def needs_lock(func: F) -> F:
    """Decorate a function whose first argument names a lock the caller must hold.

    Calling it without holding that lock raises NotLocked, whose message says
    how to take the lock.
    """

    @functools.wraps(func)
    def checked(name: str, *args: object, **kwargs: object) -> object:
        if not have_lock(name):
            raise NotLocked(name, func.__qualname__)
        return func(name, *args, **kwargs)

    return checked  # type: ignore[return-value]
