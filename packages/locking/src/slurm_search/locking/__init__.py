"""slurm_search.locking: a string-named mutex across threads, processes and
hosts that share a filesystem.

``with lock("search:name"):`` excludes every other thread, process and host
that asks for the same name. Lock files live in ``$SLURM_SEARCH_HOME/locks``
(default ``~/hyperparameters/locks``). ``SLURM_SEARCH_LOCK=soft`` switches to
lease-renewed lock files for filesystems whose flock does not exclude across
hosts (see the package README)."""

from __future__ import annotations

from ._api import SLOW_WAIT, have_lock, held_locks, lock, needs_lock
from ._config import ensure_dir, home, lock_mode, locks_dir
from ._errors import InvalidLockName, LockError, LockReentry, LockTimeout, NotLocked
from ._names import validate_name

__all__ = [
    "SLOW_WAIT",
    "InvalidLockName",
    "LockError",
    "LockReentry",
    "LockTimeout",
    "NotLocked",
    "ensure_dir",
    "have_lock",
    "held_locks",
    "home",
    "lock",
    "lock_mode",
    "locks_dir",
    "needs_lock",
    "validate_name",
]
