"""Where slurm-search keeps its files and how it locks them, resolved in one
place from the environment (read on every call, so tests and workers that set
the variables late are honoured)."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InvalidLockSetting

__all__ = [
    "home",
    "locks_dir",
    "requested_mode",
    "soft_grace",
    "ensure_dir",
    "group_shared",
    "MODES",
]

HOME_VARIABLE = "SLURM_SEARCH_HOME"
MODE_VARIABLE = "SLURM_SEARCH_LOCK"
GRACE_VARIABLE = "SLURM_SEARCH_LOCK_GRACE"
SHARED_GROUP_VARIABLE = "SLURM_SEARCH_SHARED_GROUP"
MODES = ("flock", "soft")
REQUESTS = ("auto", *MODES)
DEFAULT_GRACE = 30.0


def home() -> Path:
    """The root of the store: ``$SLURM_SEARCH_HOME``, default ``~/hyperparameters``."""
    value = os.environ.get(HOME_VARIABLE)
    return Path(value).expanduser() if value else Path.home() / "hyperparameters"


def locks_dir() -> Path:
    """The folder of the lock files, ``<home>/locks``."""
    return home() / "locks"


def requested_mode() -> str:
    """What ``$SLURM_SEARCH_LOCK`` asks for: ``auto`` (the default), ``flock`` or ``soft``.

    Raises:
        InvalidLockSetting: any other value.
    """
    raw = os.environ.get(MODE_VARIABLE, "")
    mode = raw.strip().lower() or "auto"
    if mode not in REQUESTS:
        raise InvalidLockSetting(MODE_VARIABLE, raw, f"use one of {', '.join(REQUESTS)}")
    return mode


def soft_grace() -> float:
    """Seconds after which an unrenewed soft lock may be broken.

    Raises:
        InvalidLockSetting: not a finite positive number.
    """
    value = os.environ.get(GRACE_VARIABLE)
    if not value:
        return DEFAULT_GRACE
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if not 0 < grace < float("inf"):
        raise InvalidLockSetting(GRACE_VARIABLE, value, "give a positive number of seconds")
    return grace


def group_shared() -> bool:
    """Whether the store is shared by a group (``SLURM_SEARCH_SHARED_GROUP=1``)."""
    value = os.environ.get(SHARED_GROUP_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no")


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (0770 for a
    group-shared store) and return it."""
    mode = 0o770 if group_shared() else 0o700
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue
        # mkdir's mode is filtered by the umask; set it exactly.
        os.chmod(folder, mode)
    return path
