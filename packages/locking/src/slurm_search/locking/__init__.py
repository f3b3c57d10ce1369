"""slurm_search.locking: a string-named mutex across threads, processes and
hosts that share a filesystem.

``with lock("search:name"):`` excludes every other thread, process and host
that asks for the same name. Lock files live in ``$SLURM_SEARCH_HOME/locks``
(default ``~/hyperparameters/locks``). How they lock (``flock`` or ``soft``
lease files) is decided once per store from its filesystem and recorded in
``<root>/lock-mode``, so every host agrees (see the package README)."""

from __future__ import annotations

from . import settings
from ._api import BACKENDS, SLOW_WAIT, fence, have_lock, held_locks, lock, lock_mode, needs_lock
from ._backend import LockBackend
from ._dirs import ensure_dir
from ._errors import (
    BadModeRecord,
    InvalidEnvironmentSetting,
    InvalidLockName,
    LockError,
    LockLost,
    LockModeMismatch,
    LockReentry,
    LockTimeout,
    LockUnsupported,
    NotLocked,
    SlurmSearchError,
    UnsafeLockFile,
)
from ._flock import FlockBackend
from ._fs import Filesystem, choose_mode, mount_of
from ._mode import Decision, record_path, set_store_mode, store_mode
from ._names import validate_name
from ._soft import SoftBackend
from .settings import group_shared, home, locks_dir, requested_mode, soft_grace

__all__ = [
    "BACKENDS",
    "SLOW_WAIT",
    "SlurmSearchError",
    "settings",
    "BadModeRecord",
    "Decision",
    "Filesystem",
    "FlockBackend",
    "InvalidLockName",
    "InvalidEnvironmentSetting",
    "LockBackend",
    "LockError",
    "LockLost",
    "LockModeMismatch",
    "LockReentry",
    "LockTimeout",
    "LockUnsupported",
    "NotLocked",
    "SoftBackend",
    "UnsafeLockFile",
    "choose_mode",
    "ensure_dir",
    "fence",
    "group_shared",
    "have_lock",
    "held_locks",
    "home",
    "lock",
    "lock_mode",
    "locks_dir",
    "mount_of",
    "needs_lock",
    "record_path",
    "requested_mode",
    "set_store_mode",
    "soft_grace",
    "store_mode",
    "validate_name",
]
